"""docker-compose.yml, checked statically (Docker does not run here): every service, port,
volume, environment variable and mounted path it names exists in the repo and agrees with the
settings."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from services.common.settings import PROJECT_ROOT, Settings

COMPOSE: dict[str, Any] = yaml.safe_load((PROJECT_ROOT / "docker-compose.yml").read_text())
SERVICES: dict[str, Any] = COMPOSE["services"]
CONSUMERS = ("chat_metrics", "pathway_metrics", "feedback_ingest", "contact_metrics")
KANAVA = (*CONSUMERS, "gateway")
SETTINGS = {f"KANAVA_{name.upper()}" for name in Settings.model_fields}
GRAFANA = "infra/grafana"
READER = "kanava_grafana_reader"  # migration 0008's role
ENV_EXAMPLE = dict(
    line.split("=", 1)
    for line in (PROJECT_ROOT / ".env.example").read_text().splitlines()
    if line and not line.startswith("#")
)


def test_the_whole_stack_is_there() -> None:
    assert set(SERVICES) == {
        "kafka",
        "postgres",
        "migrate",
        "grafana_reader",
        *KANAVA,
        "prometheus",
        "alertmanager",
        "grafana",
    }
    assert SERVICES["kafka"]["image"].startswith("apache/kafka:")
    assert SERVICES["kafka"]["environment"]["KAFKA_PROCESS_ROLES"] == "broker,controller"


@pytest.mark.parametrize("name", [*KANAVA, "migrate"])
def test_kanava_processes_run_modules_of_the_repo_after_the_migrations(name: str) -> None:
    service = SERVICES[name]
    python, dash_m, module, *rest = service["command"]
    assert (python, dash_m) == ("python", "-m")
    assert importlib.util.find_spec(module) is not None
    if name == "migrate":
        assert rest == ["prepare"]
        return
    assert module == f"services.{name}"
    assert service["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}
    assert "healthcheck" in service


def test_environment_names_are_settings_and_secrets_come_from_the_env_file() -> None:
    used: set[str] = set()
    for service in SERVICES.values():
        environment = service.get("environment", {})
        used |= {k for k in environment if k.startswith("KANAVA_")}
    used |= {k for k in ENV_EXAMPLE if k.startswith("KANAVA_")}
    assert used <= SETTINGS, used - SETTINGS
    text = (PROJECT_ROOT / "docker-compose.yml").read_text()
    for variable in set(re.findall(r"\$\{(\w+)\}", text)):
        assert variable in ENV_EXAMPLE, variable
    for service in KANAVA:
        assert SERVICES[service]["env_file"] == ".env"


@pytest.mark.parametrize("name", KANAVA)
def test_kanava_services_run_in_production(name: str) -> None:
    assert SERVICES[name]["environment"]["KANAVA_ENVIRONMENT"] == "production"


def test_grafana_reads_postgres_as_the_read_only_role() -> None:
    datasources = yaml.safe_load(
        (PROJECT_ROOT / GRAFANA / "provisioning/datasources/kanava.yml").read_text()
    )
    (postgres,) = [
        d for d in datasources["datasources"] if d["type"] == "grafana-postgresql-datasource"
    ]
    assert postgres["user"] == READER
    assert postgres["secureJsonData"] == {"password": "$GRAFANA_DB_PASSWORD"}
    assert SERVICES["grafana"]["environment"]["GRAFANA_DB_PASSWORD"] == "${GRAFANA_DB_PASSWORD}"
    assert "GRAFANA_DB_PASSWORD" in ENV_EXAMPLE


def test_the_grafana_reader_step_gives_the_role_its_password_after_the_migrations() -> None:
    step = SERVICES["grafana_reader"]
    assert step["image"] == SERVICES["postgres"]["image"]
    assert step["depends_on"] == {"migrate": {"condition": "service_completed_successfully"}}
    assert step["environment"] == {
        "PGHOST": "postgres",
        "PGUSER": SERVICES["postgres"]["environment"]["POSTGRES_USER"],
        "PGDATABASE": SERVICES["postgres"]["environment"]["POSTGRES_DB"],
        "PGPASSWORD": "${POSTGRES_PASSWORD}",
        "GRAFANA_DB_PASSWORD": "${GRAFANA_DB_PASSWORD}",
    }
    (volume,) = step["volumes"]
    source, mounted, mode = volume.split(":")
    assert step["command"] == ["psql", "-v", "ON_ERROR_STOP=1", "-f", mounted]
    assert mode == "ro"
    sql = (PROJECT_ROOT / source).read_text()
    assert "\\getenv password GRAFANA_DB_PASSWORD\n" in sql
    assert f"ALTER ROLE {READER} WITH LOGIN PASSWORD :'password';" in sql
    # Grafana's Prometheus panels must not wait for Kafka (which the migrations wait for)
    assert "grafana_reader" not in SERVICES["grafana"].get("depends_on", {})


@pytest.mark.parametrize("name", CONSUMERS)
def test_health_and_scrape_ports_are_the_services_metrics_ports(name: str) -> None:
    port = Settings().metrics_port(name)
    assert SERVICES[name]["environment"]["PORT"] == str(port)
    scrape = yaml.safe_load((PROJECT_ROOT / "infra/prometheus/compose.yml").read_text())
    jobs = {job["job_name"]: job["dns_sd_configs"][0] for job in scrape["scrape_configs"]}
    assert jobs[f"kanava-{name}"] == {"names": [name], "type": "A", "port": port}


def test_the_gateway_port() -> None:
    port = Settings().gateway_port
    assert SERVICES["gateway"]["ports"] == [f"{port}:{port}"]


def test_mounted_paths_and_volumes_exist() -> None:
    named = set(COMPOSE["volumes"])
    for service in SERVICES.values():
        for volume in service.get("volumes", []):
            source = volume.split(":", 1)[0]
            if source.startswith("./"):
                assert (PROJECT_ROOT / source).exists(), source
            else:
                assert source in named, source
    assert named == {
        f"{n}-data" for n in ("kafka", "postgres", "prometheus", "alertmanager", "grafana")
    }


def test_the_image_runs_as_a_user() -> None:
    dockerfile = (PROJECT_ROOT / "Dockerfile").read_text()
    users = re.findall(r"^USER (\S+)", dockerfile, flags=re.MULTILINE)
    assert users == ["kanava"]
    assert Path(PROJECT_ROOT / "uv.lock").exists()
    # the image leaves out the dev and devstack groups (test tools, embedded broker and database)
    assert "uv sync --frozen --no-default-groups" in dockerfile
