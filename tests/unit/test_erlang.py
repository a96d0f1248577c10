"""The staffing model (services/common/erlang.py) against values worked out by hand, a published
Erlang C table, an exact factorial formula, a high-precision closed form of Erlang A and a
simulation of the queue."""

from __future__ import annotations

import heapq
import json
import math
import random
from decimal import Decimal, getcontext
from fractions import Fraction

import pytest

from services.cli import main
from services.common.erlang import Load, advise, erlang_c, staffing

pytestmark = pytest.mark.unit


def exact_erlang_c(servers: int, erlangs: Fraction) -> Fraction:
    """The textbook formula with factorials, in exact rationals."""
    top = erlangs**servers / math.factorial(servers) * Fraction(servers) / (servers - erlangs)
    below = sum(erlangs**k / math.factorial(k) for k in range(servers))
    return top / (below + top)


def test_one_server_by_hand() -> None:
    # M/M/1: P(wait) = A. 1 800 chats an hour of 1 s: A = 0.5.
    figures = staffing(Load(1800, 1.0), 1, target_seconds=2)
    assert figures.wait_probability == pytest.approx(0.5, abs=1e-12)
    # SL = 1 - 0.5 e^(-(1 - 0.5) 2 / 1) = 1 - 0.5/e
    assert figures.service_level == pytest.approx(1 - 0.5 / math.e, abs=1e-12)
    # ASA = 0.5 * 1 / (1 - 0.5)
    assert figures.asa_seconds == pytest.approx(1.0, abs=1e-12)


def test_two_servers_by_hand() -> None:
    # A = 1, n = 2: (1/2! * 2/1) / (1 + 1 + 1) = 1/3
    assert erlang_c(2, 1.0) == pytest.approx(1 / 3, abs=1e-12)


@pytest.mark.parametrize(
    ("servers", "published"),
    [(11, 0.6821), (12, 0.4494), (13, 0.2853), (14, 0.1741), (15, 0.1020)],
)
def test_published_table_for_ten_erlangs(servers: int, published: float) -> None:
    assert erlang_c(servers, 10.0) == pytest.approx(published, abs=5e-5)


@pytest.mark.parametrize(
    ("servers", "erlangs"),
    [(3, Fraction(5, 2)), (14, Fraction(10)), (60, Fraction(101, 2)), (500, Fraction(480))],
)
def test_matches_the_factorial_formula_up_to_500_servers(servers: int, erlangs: Fraction) -> None:
    assert erlang_c(servers, float(erlangs)) == pytest.approx(
        float(exact_erlang_c(servers, erlangs)), rel=1e-9
    )


def test_no_overflow_where_factorials_would() -> None:
    assert erlang_c(500, 1.0) < 1e-300  # 1/500! underflows to about 0, without an error
    assert 0 < erlang_c(500, 499.0) < 1


def test_advice_is_the_fewest_that_meet_the_target() -> None:
    # 200 chats an hour of 180 s (A = 10), 80 % within 20 s.
    load = Load(200, 180)
    advice = advise(load, 20, 0.8)
    assert advice.professionals == 14
    # 1 - 0.1741 e^(-(14 - 10) 20/180); and 13 is not enough: 1 - 0.2853 e^(-3 * 20/180)
    c14, c13 = exact_erlang_c(14, Fraction(10)), exact_erlang_c(13, Fraction(10))
    assert advice.service_level == pytest.approx(1 - float(c14) * math.exp(-80 / 180), abs=1e-9)
    assert staffing(load, 13, 20).service_level == pytest.approx(
        1 - float(c13) * math.exp(-60 / 180), abs=1e-9
    )
    assert staffing(load, 13, 20).service_level < 0.8 <= advice.service_level
    assert advice.asa_seconds == pytest.approx(float(c14) * 180 / 4, abs=1e-9)


def test_concurrency_counts_each_professional_as_that_many_servers() -> None:
    # 200 chats of 180 s, 2 at a time: 14 servers are 7 professionals
    advice = advise(Load(200, 180, concurrency=2), 20, 0.8)
    assert (advice.professionals, advice.servers) == (7, 14)


def test_too_few_servers_leave_the_queue_growing() -> None:
    figures = staffing(Load(200, 180), 10, 20)  # n = A
    assert (figures.wait_probability, figures.service_level, figures.asa_seconds) == (
        1.0,
        0.0,
        math.inf,
    )


def test_nothing_offered_needs_nobody() -> None:
    advice = advise(Load(0, 180), 20, 0.8)
    assert (advice.professionals, advice.service_level, advice.asa_seconds) == (0, 1.0, 0.0)


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        ({"offered_per_hour": -1.0}, "offered per hour must be a number ≥ 0"),
        ({"offered_per_hour": math.nan}, "offered per hour must be a number ≥ 0"),
        ({"handle_seconds": 0.0}, "handle seconds must be a number > 0"),
        ({"concurrency": 0}, "concurrency must be a whole number ≥ 1"),
        ({"patience_seconds": 0.0}, "patience seconds must be a number > 0"),
    ],
)
def test_impossible_loads_are_refused(bad: dict[str, float], reason: str) -> None:
    fields: dict[str, float] = {"offered_per_hour": 10.0, "handle_seconds": 60.0}
    fields.update(bad)
    with pytest.raises(ValueError, match=reason):
        Load(**fields)  # type: ignore[arg-type]


@pytest.mark.parametrize("ratio", [0.0, 1.0, 1.5])
def test_a_target_ratio_must_be_reachable(ratio: float) -> None:
    with pytest.raises(ValueError, match="target ratio"):
        advise(Load(10, 60), 20, ratio)


# Erlang A


def test_endless_patience_is_erlang_c() -> None:
    c = staffing(Load(200, 180), 12, 20)
    a = staffing(Load(200, 180, patience_seconds=1e9), 12, 20)
    assert a.model == "erlang_a"
    assert a.wait_probability == pytest.approx(c.wait_probability, abs=1e-5)
    assert a.service_level == pytest.approx(c.service_level, abs=1e-5)
    assert a.asa_seconds * (1 - a.abandon_probability) == pytest.approx(c.asa_seconds, rel=1e-4)
    assert a.abandon_probability < 1e-5


def test_nobody_on_duty_means_everyone_gives_up() -> None:
    figures = staffing(Load(20, 180, patience_seconds=60), 0, 20)
    assert (figures.wait_probability, figures.service_level, figures.abandon_probability) == (
        1.0,
        0.0,
        1.0,
    )


def decimal_erlang_a(
    per_hour: int, handle: int, servers: int, patience: int, target: int
) -> tuple[Decimal, Decimal, Decimal]:
    """(P(wait), service level, abandon probability) from the stationary distribution of the
    whole birth-death chain and the closed form of the hypoexponential distribution, at 80
    digits."""
    getcontext().prec = 80
    arrival, ends, gives_up = Decimal(per_hour) / 3600, 1 / Decimal(handle), 1 / Decimal(patience)
    erlangs = arrival / ends
    weights = [Decimal(1)]
    for j in range(1, servers + 1):
        weights.append(weights[-1] * erlangs / j)
    k = 0
    while weights[-1] > Decimal("1e-40") or k < 10:
        k += 1
        weights.append(weights[-1] * arrival / (servers * ends + k * gives_up))
    total = sum(weights, Decimal(0))
    waiting = weights[servers:]
    rates = [servers * ends + (i + 1) * gives_up for i in range(len(waiting))]
    within, answered = Decimal(0), Decimal(0)
    survive = Decimal(1)
    for stage, weight in enumerate(waiting):
        survive *= (rates[stage] - gives_up) / rates[stage]
        done_by_target = Decimal(0)
        for i in range(stage + 1):
            product = Decimal(1)
            for j in range(stage + 1):
                if j != i:
                    product *= rates[j] / (rates[j] - rates[i])
            done_by_target += product * (1 - (-rates[i] * target).exp())
        within += weight / total * survive * done_by_target
        answered += weight / total * survive
    wait = sum(waiting, Decimal(0)) / total
    return wait, 1 - wait + within, wait - answered


@pytest.mark.parametrize(
    ("per_hour", "handle", "servers", "patience", "target"),
    [(30, 300, 2, 120, 60), (200, 180, 12, 120, 20), (60, 600, 8, 300, 60)],
)
def test_erlang_a_matches_a_closed_form_at_high_precision(
    per_hour: int, handle: int, servers: int, patience: int, target: int
) -> None:
    wait, level, gone = decimal_erlang_a(per_hour, handle, servers, patience, target)
    figures = staffing(Load(per_hour, handle, patience_seconds=patience), servers, target)
    assert figures.wait_probability == pytest.approx(float(wait), abs=1e-10)
    assert figures.service_level == pytest.approx(float(level), abs=1e-10)
    assert figures.abandon_probability == pytest.approx(float(gone), abs=1e-10)


def simulate(
    per_hour: float, handle: float, servers: int, patience: float, target: float, clients: int
) -> tuple[float, float, float, float]:
    """(P(wait), service level, ASA, abandon probability) of a first-come-first-served queue
    with `servers`, each client leaving when the wait would exceed their own patience."""
    rng = random.Random(20261207)
    free = [0.0] * servers
    waited = within = gone = answered = 0
    now = wait_sum = 0.0
    for _ in range(clients):
        now += rng.expovariate(per_hour / 3600)
        start = max(now, free[0])
        wait = start - now
        waited += wait > 0
        if wait > rng.expovariate(1 / patience):
            gone += 1
            continue
        answered += 1
        wait_sum += wait
        within += wait <= target
        heapq.heapreplace(free, start + rng.expovariate(1 / handle))
    return waited / clients, within / clients, wait_sum / answered, gone / clients


def test_erlang_a_agrees_with_a_simulated_queue() -> None:
    wait, level, asa, gone = simulate(200, 180, 11, 120, 20, clients=300_000)
    figures = staffing(Load(200, 180, patience_seconds=120), 11, 20)
    assert figures.wait_probability == pytest.approx(wait, abs=0.01)
    assert figures.service_level == pytest.approx(level, abs=0.01)
    assert figures.asa_seconds == pytest.approx(asa, rel=0.03)
    assert figures.abandon_probability == pytest.approx(gone, abs=0.005)


def test_patience_lowers_the_advice() -> None:
    with_patience = advise(Load(200, 180, patience_seconds=120), 20, 0.8)
    assert with_patience.model == "erlang_a"
    assert with_patience.professionals < advise(Load(200, 180), 20, 0.8).professionals
    assert with_patience.service_level >= 0.8
    assert staffing(Load(200, 180, patience_seconds=120), 11, 20).service_level < 0.8


# The command


def test_command_prints_the_advice_as_json(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        [
            "staffing",
            "--offered-per-hour=200",
            "--handle-seconds=180",
            "--target-seconds=20",
            "--target-ratio=0.8",
            "--json",
        ]
    )
    figures = json.loads(capsys.readouterr().out)
    assert code == 0
    assert figures["professionals"] == 14
    assert figures["model"] == "erlang_c"
    c14 = float(exact_erlang_c(14, Fraction(10)))
    assert figures["service_level"] == pytest.approx(1 - c14 * math.exp(-80 / 180), abs=1e-9)
    assert figures["asa_seconds"] == pytest.approx(c14 * 180 / 4, abs=1e-9)


def test_command_says_which_model_and_what_erlang_c_would_say(
    capsys: pytest.CaptureFixture[str],
) -> None:
    argv = "--offered-per-hour 200 --handle-seconds 180 --target-seconds 20 --target-ratio 0.8"
    code = main(["staffing", *argv.split(), "--patience-seconds", "120", "--json"])
    figures = json.loads(capsys.readouterr().out)
    assert code == 0
    assert (figures["model"], figures["professionals"], figures["erlang_c_professionals"]) == (
        "erlang_a",
        12,
        14,
    )
    assert main(["staffing", *argv.split()]) == 0
    assert capsys.readouterr().out.startswith("14 professionals (14 chats at once), by Erlang C")


def test_command_refuses_an_unreachable_target(capsys: pytest.CaptureFixture[str]) -> None:
    argv = "--offered-per-hour 10 --handle-seconds 60 --target-seconds 20 --target-ratio 1"
    assert main(["staffing", *argv.split()]) == 2
    assert "target ratio must be above 0 and below 1" in capsys.readouterr().err
