"""`kanava simulate --nps-drop UNIT:DAY[:DELTA]`: a date, an offset from today, a delta."""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from datetime import date

import pytest

from services.common.registry import load_registry
from services.common.settings import PROJECT_ROOT, get_settings
from services.devstack.launcher import drop_arguments
from services.simulator import cli
from services.simulator.feedback import Drop

REGISTRY = load_registry(PROJECT_ROOT / "infra" / "registry" / "demo.yaml")
TODAY = date(2025, 11, 5)
UNITS = (
    "asiakasohjaus, terveysasema-kouvola, terveysasema-kotka, laakaripalvelut, "
    "pitkaaikaissairaudet, hammashoitola, kotisairaala, kuntoutus-avo, psykiatria-avo, neuvola, "
    "naistentaudit, korva, sosiaalineuvonta"
)


@pytest.fixture
def parser(monkeypatch: pytest.MonkeyPatch) -> argparse.ArgumentParser:
    monkeypatch.delenv("KANAVA_REGISTRY_FILE", raising=False)
    get_settings.cache_clear()
    parser = argparse.ArgumentParser(prog="kanava")
    cli.register(parser.add_subparsers())
    return parser


@pytest.fixture(autouse=True)
def fresh_settings() -> Iterator[None]:
    yield
    get_settings.cache_clear()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("kotisairaala:2025-10-30", Drop("kotisairaala", date(2025, 10, 30), -30.0)),
        ("kotisairaala:-3", Drop("kotisairaala", date(2025, 11, 2), -30.0)),
        ("kotisairaala:0", Drop("kotisairaala", TODAY, -30.0)),
        ("kotisairaala:+2", Drop("kotisairaala", date(2025, 11, 7), -30.0)),
        ("kotisairaala:7", Drop("kotisairaala", date(2025, 11, 12), -30.0)),
        ("neuvola:-10:-45", Drop("neuvola", date(2025, 10, 26), -45.0)),
        ("neuvola:2025-11-01:-12.5", Drop("neuvola", date(2025, 11, 1), -12.5)),
        ("neuvola:2025-11-01:20", Drop("neuvola", date(2025, 11, 1), 20.0)),
    ],
)
def test_a_drop_is_a_unit_a_day_and_a_delta(text: str, expected: Drop) -> None:
    assert cli.parse_drop(text, REGISTRY, TODAY) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("kotisairaala", "expected UNIT:DAY[:DELTA], not 'kotisairaala'"),
        ("kotisairaala:-3:-30:1", "expected UNIT:DAY[:DELTA], not 'kotisairaala:-3:-30:1'"),
        ("kuu:-3", f"unknown unit 'kuu'; the WheelQ units are: {UNITS}"),
        (
            "kotisairaala:yesterday",
            "DAY must be a date YYYY-MM-DD or a number of days from today, not 'yesterday'",
        ),
        (
            "kotisairaala:2025-02-30",
            "DAY must be a date YYYY-MM-DD or a number of days from today, not '2025-02-30'",
        ),
        (
            "kotisairaala:20251105",
            "DAY must be a date YYYY-MM-DD or a number of days from today, not '20251105'",
        ),
        (
            "kotisairaala:-9999999999",
            "DAY must be a date YYYY-MM-DD or a number of days from today, not '-9999999999'",
        ),
        ("kotisairaala:-3:lots", "DELTA must be a number of NPS points, not 'lots'"),
        ("kotisairaala:-3:nan", "DELTA must be a number of NPS points, not 'nan'"),
        ("kotisairaala:-3:", "DELTA must be a number of NPS points, not ''"),
    ],
)
def test_a_wrong_drop_says_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError) as raised:
        cli.parse_drop(text, REGISTRY, TODAY)
    assert str(raised.value) == message


def test_the_option_gives_the_drop(parser: argparse.ArgumentParser) -> None:
    args = parser.parse_args(["simulate", "--nps-drop", "psykiatria-avo:2025-11-03:-25"])
    assert args.nps_drop == Drop("psykiatria-avo", date(2025, 11, 3), -25.0)
    assert parser.parse_args(["simulate"]).nps_drop is None


def test_an_unknown_unit_is_a_usage_error_naming_the_units(
    parser: argparse.ArgumentParser, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        parser.parse_args(["simulate", "--nps-drop", "kuu:-3"])
    assert exited.value.code == 2
    last = capsys.readouterr().err.splitlines()[-1]
    assert last == (
        "kanava simulate: error: argument --nps-drop: "
        f"unknown unit 'kuu'; the WheelQ units are: {UNITS}"
    )


@pytest.mark.parametrize("delta", [-30.0, -12.5, 5.0])
def test_kanava_up_hands_the_simulator_the_same_drop(delta: float) -> None:
    drop = Drop("neuvola", date(2025, 11, 3), delta)
    flag, value = drop_arguments(drop)
    assert flag == "--nps-drop"
    assert cli.parse_drop(value, REGISTRY, TODAY) == drop
    assert drop_arguments(None) == []
