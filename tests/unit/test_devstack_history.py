"""`kanava up --history`: the demo's history ends where the simulator's backfill begins, and
the services keep it above the dedupe floor."""

from __future__ import annotations

import argparse
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from services.common.settings import get_settings
from services.devstack.launcher import DevStack, history_horizon

pytestmark = pytest.mark.unit


def test_the_horizon_covers_the_history_and_the_backfill(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KANAVA_DEDUPE_HORIZON_DAYS", raising=False)
    assert history_horizon(7) == {"KANAVA_DEDUPE_HORIZON_DAYS": "410"}  # 7 + 13 * 31
    monkeypatch.setenv("KANAVA_DEDUPE_HORIZON_DAYS", "900")
    assert history_horizon(7) == {}  # the operator's own choice stays


def test_the_history_ends_where_the_backfill_begins() -> None:
    settings = get_settings()
    args = argparse.Namespace(simulate=True, backfill_days=7, seed=3)
    argv = DevStack(settings).history_argv(args)
    today = datetime.now(ZoneInfo(settings.timezone)).date()
    assert argv[2:] == [
        "services.cli",
        "demo-history",
        str(settings.data_dir / "sample-exports"),
        "--before",
        (today - timedelta(days=7)).isoformat(),
        "--months",
        "12",
        "--seed",
        "3",
    ]
