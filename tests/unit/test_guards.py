"""What production refuses at start-up and what development only warns about, on the guard
functions; tests/integration/test_production_guards.py runs the real processes."""

from __future__ import annotations

import logging

import pytest

from services.common.guards import (
    check_gateway_start,
    check_service_start,
    gateway_problems,
    refuse_dev_stack_in_production,
    service_problems,
)
from services.common.settings import Settings

SECRET_KEY = "0123456789abcdef0123456789abcdef"
DEV_KEY = (
    "KANAVA_PHONE_HASH_KEY is the public development key: set a secret random key of at "
    "least 32 characters (`openssl rand -hex 32`)"
)
SHORT_KEY = (
    "KANAVA_PHONE_HASH_KEY is shorter than 32 characters: set a secret random key of at "
    "least 32 characters (`openssl rand -hex 32`)"
)
NO_WEBHOOK_SECRET = (
    "KANAVA_SMS_WEBHOOK_SECRET is not set: "
    "set the secret the SMS operator signs POST /v1/sms/inbound with"
)
DEV_STACK = (
    "kanava up: KANAVA_ENVIRONMENT is production, and the dev stack is for development only: "
    "unset KANAVA_ENVIRONMENT, or deploy with docker compose"
)


def production(**values: object) -> Settings:
    """Production settings of these tests: no database, whatever the shell has."""
    return Settings.model_validate({"environment": "production", "database_url": None, **values})


def test_good_production_settings_pass() -> None:
    settings = production(phone_hash_key=SECRET_KEY, sms_webhook_secret="s")
    assert service_problems(settings) == []
    assert gateway_problems(settings) == []
    check_service_start(settings, "chat_metrics")
    check_gateway_start(settings)  # no database configured: no dev tokens to look for
    refuse_dev_stack_in_production(Settings(environment="development"))


def test_development_refuses_nothing() -> None:
    settings = Settings(environment="development", phone_hash_key="k")
    assert service_problems(settings) == []
    assert gateway_problems(settings) == []


@pytest.mark.parametrize(
    ("key", "problem"),
    [(None, DEV_KEY), ("", SHORT_KEY), (SECRET_KEY[:31], SHORT_KEY), (SECRET_KEY, None)],
)
def test_production_wants_a_secret_key_of_32_characters(key: str | None, problem: str) -> None:
    settings = production() if key is None else production(phone_hash_key=key)
    assert service_problems(settings) == ([problem] if problem else [])


@pytest.mark.parametrize("secret", [None, ""])
def test_the_gateway_wants_the_webhook_secret_and_consumers_do_not(secret: str | None) -> None:
    settings = production(phone_hash_key=SECRET_KEY, sms_webhook_secret=secret)
    assert gateway_problems(settings) == [NO_WEBHOOK_SECRET]
    assert service_problems(settings) == []


def test_every_problem_is_printed_then_the_process_exits_with_2(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as exited:
        check_gateway_start(production())
    assert exited.value.code == 2
    assert capsys.readouterr().err.splitlines() == [
        f"gateway: {DEV_KEY}",
        f"gateway: {NO_WEBHOOK_SECRET}",
    ]


def test_the_dev_stack_refuses_production(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        refuse_dev_stack_in_production(production())
    assert exited.value.code == 2
    assert capsys.readouterr().err.splitlines() == [DEV_STACK]


@pytest.mark.parametrize(
    ("bootstrap", "key", "warned"),
    [
        ("kafka-1:9092,kafka-2:9092", None, True),
        ("kafka-1:9092", SECRET_KEY, False),
        (None, None, False),
        ("127.0.0.1:9092", None, False),  # the broker of `kanava up`
    ],
)
def test_development_warns_once_about_the_dev_key_on_a_real_kafka(
    caplog: pytest.LogCaptureFixture, bootstrap: str | None, key: str | None, warned: bool
) -> None:
    values = {"environment": "development", "kafka_bootstrap": bootstrap, "dev_broker_port": 9092}
    settings = Settings.model_validate(values | ({"phone_hash_key": key} if key else {}))
    with caplog.at_level(logging.WARNING):
        check_service_start(settings, "chat_metrics")
    lines = [(r.levelname, r.getMessage()) for r in caplog.records]
    assert lines == (
        [
            (
                "WARNING",
                "chat_metrics: KANAVA_PHONE_HASH_KEY is the public development key on the "
                f"Kafka at {bootstrap}: anyone can reverse its recipient hashes; set a secret "
                "key before real data flows",
            )
        ]
        if warned
        else []
    )
