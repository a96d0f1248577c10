"""The Prometheus and Alertmanager configuration checked by their own tools: promtool (config,
rules, rule unit tests of every alert) and amtool (config, routing)."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from tests.support.infra import project_root

PROMETHEUS = project_root() / "infra" / "prometheus"
ALERTMANAGER = project_root() / "infra" / "alertmanager" / "alertmanager.yml"


def run(*argv: str) -> str:
    tool = shutil.which(argv[0])
    assert tool, f"{argv[0]} is missing: apt-get install prometheus prometheus-alertmanager"
    done = subprocess.run(
        [tool, *argv[1:]], cwd=PROMETHEUS, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout + done.stderr


def test_rules_and_config_are_valid() -> None:
    assert "SUCCESS: 11 rules found" in run("promtool", "check", "rules", "rules/alerts.yml")
    assert "SUCCESS: 11 rules found" in run("promtool", "check", "rules", "rules/recording.yml")
    assert "SUCCESS" in run("promtool", "check", "config", "prometheus.yml")


def test_every_alert_has_a_firing_unit_test() -> None:
    output = run("promtool", "test", "rules", "tests/alerts_test.yml", "tests/recording_test.yml")
    assert output.count("SUCCESS") == 2
    tests = (PROMETHEUS / "tests" / "alerts_test.yml").read_text(encoding="utf-8")
    rules = (PROMETHEUS / "rules" / "alerts.yml").read_text(encoding="utf-8")
    alerts = [line.split(":", 1)[1].strip() for line in rules.splitlines() if "- alert:" in line]
    assert len(alerts) == 11
    for alert in alerts:
        assert f"alertname: {alert}\n        exp_alerts:\n          - exp_labels" in tests, alert


@pytest.mark.parametrize(
    ("labels", "receivers"),
    [
        (
            ["alertname=KanavaChatNoProfessional", "severity=critical", "service_area=vastaanotto"],
            "chat-oncall,vastaanotto-email",
        ),
        (["alertname=KanavaChatWaitOverLimit", "service_area=kuntoutus"], "kuntoutus-email"),
        (["alertname=KanavaChatWaitOverLimit", "service_area=korva"], "operations-email"),
        (
            [
                "alertname=KanavaChatUnderstaffedNextHour",
                "severity=warning",
                "service_area=kuntoutus",
            ],
            "kuntoutus-email",
        ),
        (
            ["alertname=KanavaNpsDrop", "service_area=vastaanotto"],
            "customer-experience-email,vastaanotto-email",
        ),
        (["alertname=KanavaServiceDown", "severity=critical"], "platform-oncall,platform-email"),
        (["alertname=KanavaDeadLetters", "severity=warning"], "platform-email"),
        (
            ["alertname=KanavaConsumerStalled", "severity=critical"],
            "platform-oncall,platform-email",
        ),
    ],
)
def test_alerts_reach_the_right_people(labels: list[str], receivers: str) -> None:
    assert "SUCCESS" in run("amtool", "check-config", str(ALERTMANAGER))
    routed = run("amtool", "config", "routes", "test", f"--config.file={ALERTMANAGER}", *labels)
    assert routed.splitlines()[0] == receivers
