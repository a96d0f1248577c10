"""The stall bookkeeping of a consumer: reasons, backoff, when a stall clears."""

from __future__ import annotations

from aiokafka.errors import CorruptRecordException, KafkaError, UnsupportedCodecError
from prometheus_client import REGISTRY

from services.common.stalls import (
    DATABASE_UNAVAILABLE,
    StallWatch,
    delay_after,
    describe,
    fetch_failure_reason,
)


def gauge(service: str, reason: str) -> float | None:
    return REGISTRY.get_sample_value(
        "kanava_consumer_stalled", {"service": service, "reason": reason}
    )


def test_reasons_are_the_kafka_error_class_in_snake_case() -> None:
    assert fetch_failure_reason(UnsupportedCodecError("lz4")) == "unsupported_codec"
    assert fetch_failure_reason(CorruptRecordException("crc")) == "corrupt_record"
    assert fetch_failure_reason(KafkaError("?")) == "kafka"
    assert fetch_failure_reason(ValueError("?")) == "fetch_failed"


def test_describe_names_the_class_once() -> None:
    assert describe(ValueError("bad")) == "ValueError: bad"
    assert describe(UnsupportedCodecError("lz4 missing")) == ("UnsupportedCodecError: lz4 missing")


def test_backoff_doubles_up_to_the_cap() -> None:
    assert [delay_after(n, 1, 30) for n in range(1, 8)] == [1, 2, 4, 8, 16, 30, 30]
    assert delay_after(1, 0.5, 1) == 0.5


def test_a_fetch_stall_clears_only_after_a_quiet_spell() -> None:
    watch = StallWatch("stall-test", quiet_seconds=3600)
    assert watch.failed("unsupported_codec", "lz4") == 1
    assert watch.failed("unsupported_codec", "lz4") == 2
    assert gauge("stall-test", "unsupported_codec") == 1
    watch.fetched()  # the other partitions' records came through: still stalled
    watch.stored()
    assert watch.current is not None
    assert watch.current.reason == "unsupported_codec"

    watch.quiet_seconds = 0
    watch.fetched()
    assert watch.current is None
    assert gauge("stall-test", "unsupported_codec") == 0


def test_a_database_stall_clears_when_a_batch_is_stored() -> None:
    watch = StallWatch("stall-db-test", quiet_seconds=0)
    watch.failed(DATABASE_UNAVAILABLE, "OSError: connection refused")
    watch.fetched()
    assert gauge("stall-db-test", DATABASE_UNAVAILABLE) == 1
    watch.stored()
    assert watch.current is None
    assert gauge("stall-db-test", DATABASE_UNAVAILABLE) == 0


def test_a_new_reason_replaces_the_old_and_restarts_the_backoff() -> None:
    watch = StallWatch("stall-switch-test")
    for _ in range(3):
        watch.failed(DATABASE_UNAVAILABLE, "down")
    assert watch.failed("corrupt_record", "crc") == 1
    assert gauge("stall-switch-test", DATABASE_UNAVAILABLE) == 0
    assert gauge("stall-switch-test", "corrupt_record") == 1
