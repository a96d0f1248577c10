"""Recipient hashing (HMAC-SHA256 of E.164) and the settings (README.md, "Configuration")."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from services.common.hashing import InvalidPhoneNumber, hash_recipient, to_e164
from services.common.settings import Settings


@pytest.mark.parametrize(
    "typed", ["+358401234567", "040 123 4567", "040-1234567", "+358 (0)40 123 4567", "0401234567"]
)
def test_finnish_numbers_as_people_type_them_normalise_to_e164(typed: str) -> None:
    assert to_e164(typed) == "+358401234567"


def test_foreign_numbers_keep_their_country() -> None:
    assert to_e164("+46 70 123 45 67") == "+46701234567"


def test_hash_is_hmac_sha256_hex_of_the_e164_number() -> None:
    # Reference value from `printf %s +358401234567 | openssl dgst -sha256 -hmac k`
    assert hash_recipient("040 123 4567", "k") == (
        "3eacd41ea9fb2d6af32a0ae989d4fd10754f1adca6b568a125bf3ed5053454ae"
    )
    assert hash_recipient("040 123 4567", "other-key") != hash_recipient("040 123 4567", "k")


@pytest.mark.parametrize("junk", ["", "abc", "12", "+358"])
def test_not_a_number(junk: str) -> None:
    with pytest.raises(InvalidPhoneNumber):
        to_e164(junk)


def test_settings_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KANAVA_KAFKA_BOOTSTRAP", "kafka-1:9092,kafka-2:9092")
    monkeypatch.setenv("KANAVA_CHAT_METRICS_METRICS_PORT", "9201")
    monkeypatch.setenv("KANAVA_TOPIC_PARTITIONS", "12")
    settings = Settings()
    assert settings.bootstrap() == "kafka-1:9092,kafka-2:9092"
    assert settings.metrics_port("chat_metrics") == 9201
    assert settings.metrics_port("feedback_ingest") == 9103
    assert settings.topic_partitions == 12
    assert settings.timezone == "Europe/Helsinki"
    assert settings.gateway_port == 8000


def test_without_a_broker_the_dev_broker_is_used(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KANAVA_KAFKA_BOOTSTRAP", raising=False)
    monkeypatch.setenv("KANAVA_DEV_BROKER_PORT", "19092")
    assert Settings().bootstrap() == "127.0.0.1:19092"


def test_a_service_without_database_url_says_how_to_fix_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KANAVA_DATABASE_URL", raising=False)
    with pytest.raises(SystemExit, match="KANAVA_DATABASE_URL is not set"):
        Settings().require_database_url()


def test_the_environment_is_development_unless_production_is_set(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("KANAVA_ENVIRONMENT", raising=False)
    assert Settings().environment == "development"
    monkeypatch.setenv("KANAVA_ENVIRONMENT", "production")
    assert Settings().environment == "production"
    monkeypatch.setenv("KANAVA_ENVIRONMENT", "prod")
    with pytest.raises(ValidationError, match="environment"):
        Settings()
