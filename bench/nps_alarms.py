"""`python -m bench.nps_alarms` (`make bench-nps`): false alarms and detection delays of the NPS
drop detector (services/common/nps_drop.py) on synthetic over-dispersed histories, with
today's 7-day against 28-day z-test (z <= -2.33) as the reference. docs/nps-drop.md reads it.

A unit has a base NPS of 60, 70 or 80 (passives 15 %); each day its level moves by
eta ~ N(0, tau^2) NPS points (eta / 200 of the share goes from detractors to promoters, within
the shares there are), and it gets Poisson(rate) responses. The first year is a warm-up.
- False alarms: for each (tau, rate), units of the three bases in turn, alarm episodes that
  start after the warm-up, per unit-year; the in-control run length from each evening with
  S = 0 to the next alarm (total days watched / alarms, the estimate for exponential run
  lengths with censoring); the fallback rule's episodes in a new unit's first weeks.
- Detection: a sustained drop (15 points at 20 a day, 30 points at 6 a day) from a random day
  of the half-year after the warm-up, the lost promoters becoming detractors (drop / 200 of
  the share) or passives (drop / 100); cases with the alarm on the evening before are left
  out. Delay = days of the drop up to the first alarm evening (1 = on the drop's first
  evening).
- Worked out instead of simulated, for a unit with a long, right baseline: the drop's
  information n KL(q1 || q0) / phi nats a day (q: the shares of promoters, passives and
  detractors), so that any detector with 0.25 false alarms a year needs about
  ln(365 / 0.25) / that many days on average (Lorden 1971); Siegmund's approximation of the
  mean delay of the detector's CUSUM that gets there first; and theta, the factor by which
  the over-dispersion phi leaves over lowers the effective threshold (the least of the
  CUSUMs').
Prints the tables as markdown for bench/RESULTS.md (about 3.5 minutes on one core).
"""

from __future__ import annotations

import argparse
import math
import random
import sys
import time
from bisect import bisect
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache
from itertools import accumulate, pairwise
from typing import Literal

from bench.report import write_section
from services.common.nps import Responses, drop_zscore, is_drop
from services.common.nps_drop import (
    DESIGN_DROP,
    MOVES,
    Baseline,
    DayCounts,
    Design,
    Evening,
    H,
    Move,
    dispersion,
    evenings,
    weights,
)

BASES = (60.0, 70.0, 80.0)
TAUS = (0.0, 5.0, 10.0)
RATES = (6.0, 20.0, 40.0)
PASSIVES = 0.15
WARMUP_DAYS = 365
DROP_WINDOW_DAYS = 182
"""The drop starts on a random day of this span after the warm-up."""
HORIZON_DAYS = 120
"""Days of a drop simulated; an alarm later than that counts as not found."""
FIRST_DAY = date(2024, 1, 1)
REFERENCE_MIN_BEFORE = 5
"""Today's z-score needs at least 5 responses in the 28 days (docs/metrics.md)."""
FALSE_ALARM_TARGET = 0.25
SHARE_TARGET = 0.90
LORDEN_NATS = math.log(365 / FALSE_ALARM_TARGET)
"""ln of the run length in days between false alarms at the target rate."""


@dataclass(frozen=True)
class Unit:
    base: float
    tau: float
    rate: float


@dataclass(frozen=True)
class Scenario:
    """A detection target: a drop of `drop` points at `rate` responses a day, to be found
    within `within` days; `into`: where the promoters go (drop / 200 of the share into
    detractors, or drop / 100 into passives)."""

    drop: float
    rate: float
    within: int
    into: Into = "detractors"

    def shares(self, level: float) -> tuple[float, float]:
        """Promoters and detractors of a unit at `level` NPS (before the drop) after it."""
        if self.into == "detractors":
            return level_shares(level - self.drop)
        p, d = level_shares(level)
        return max(p - self.drop / 100, 0.0), d


SCENARIOS = (
    Scenario(15.0, 20.0, 14),
    Scenario(30.0, 6.0, 10),
    Scenario(15.0, 20.0, 14, "passives"),
    Scenario(30.0, 6.0, 10, "passives"),
)
Alarms = Callable[[list[DayCounts]], list[bool]]
Into = Literal["detractors", "passives"]


@dataclass(frozen=True)
class FalseAlarms:
    tau: float
    rate: float
    unit_years: float
    episodes: tuple[int, ...]
    """By base NPS, as BASES."""
    reference_episodes: int
    watched_days: int
    run_alarms: int
    units: int
    first_year: tuple[int, int]
    """Alarm episodes in the units' warm-up year, by the rule that started them: the fallback
    rule (the first weeks) and the CUSUM on a baseline shorter than half a year."""

    @property
    def per_year(self) -> float:
        return sum(self.episodes) / self.unit_years

    @property
    def reference_per_year(self) -> float:
        return self.reference_episodes / self.unit_years


@dataclass(frozen=True)
class Detection:
    scenario: Scenario
    tau: float
    base: float
    delays: list[float]
    reference_delays: list[float]
    """Days to the first alarm evening of each case (inf: not within the horizon)."""


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.nps_alarms", description=__doc__)
    add = parser.add_argument
    add("--unit-years", type=int, default=600, help="unit-years per false-alarm cell (600)")
    add("--cases", type=int, default=300, help="drops per detection cell (300)")
    add("--seed", type=int, default=20261207)
    add("--drop", type=float, default=DESIGN_DROP, help=f"DESIGN_DROP to try ({DESIGN_DROP})")
    add("--h", type=float, default=H, help=f"H to try, nats ({H})")
    args = parser.parse_args(argv)
    design = Design(args.drop, args.h)
    started = time.monotonic()
    false_alarms = [
        false_alarm_cell(random.Random(f"{args.seed}-{tau}-{rate}"), tau, rate, args, design)
        for tau in TAUS
        for rate in RATES
    ]
    detections = [
        detection_cell(random.Random(f"{args.seed}-{s}-{tau}-{base}"), s, tau, base, args, design)
        for s in SCENARIOS
        for tau in TAUS
        for base in BASES
    ]
    body = render(args, design, false_alarms, detections, time.monotonic() - started)
    print(body)
    if design == Design():
        write_section("NPS-drop detector", body)  # only the shipped design is recorded
    return 0


def simulate(
    rng: random.Random,
    unit: Unit,
    days: int,
    drop_from: int | None = None,
    drop: Scenario | None = None,
) -> list[DayCounts]:
    """`days` days of a unit, with the `drop` from day `drop_from` on."""
    cdf = poisson_cdf(unit.rate)
    history = []
    for t in range(days):
        level = unit.base + rng.gauss(0.0, unit.tau)
        dropped = drop is not None and drop_from is not None and t >= drop_from
        shares = drop.shares(level) if dropped and drop else level_shares(level)
        promoters, passives, detractors = _day(rng, shares, cdf)
        history.append(DayCounts(FIRST_DAY + timedelta(t), promoters, passives, detractors))
    return history


def _day(rng: random.Random, shares: tuple[float, float], cdf: list[float]) -> tuple[int, int, int]:
    """One day's counts with these shares of promoters and detractors."""
    p, d = shares
    n = bisect(cdf, rng.random())
    draws = [rng.random() for _ in range(n)]
    promoters = sum(1 for r in draws if r < p)
    detractors = sum(1 for r in draws if r >= 1 - d)
    return promoters, n - promoters - detractors, detractors


def level_shares(nps: float) -> tuple[float, float]:
    """Promoters and detractors at a level of `nps`, clipped to the shares there are."""
    p = min(max((1 - PASSIVES + nps / 100) / 2, 0.0), 1 - PASSIVES)
    return p, 1 - PASSIVES - p


@cache
def poisson_pmf(rate: float) -> list[float]:
    terms = int(rate + 12 * math.sqrt(rate) + 12)
    return [math.exp(k * math.log(rate) - rate - math.lgamma(k + 1)) for k in range(terms)]


@cache
def poisson_cdf(rate: float) -> list[float]:
    return list(accumulate(poisson_pmf(rate)))


def cusum_alarms(design: Design) -> Alarms:
    return lambda history: [evening.alarm for evening in evenings(history, design=design)]


def reference_alarms(history: list[DayCounts]) -> list[bool]:
    """Today's rule each evening: the 7 days t-6..t against the 28 before, z <= -2.33 with at
    least 30 responses in the 7 days and 5 in the 28."""
    totals = [list(accumulate(values, initial=0)) for values in zip(*_counts(history), strict=True)]

    def span(start: int, stop: int) -> Responses:
        start, stop = max(start, 0), max(stop, 0)
        p, m, d = (total[stop] - total[start] for total in totals)
        return Responses(p, m, d)

    result = []
    for t in range(len(history)):
        recent, before = span(t - 6, t + 1), span(t - 34, t - 6)
        z = drop_zscore(recent, before)
        result.append(before.count >= REFERENCE_MIN_BEFORE and is_drop(z, recent))
    return result


def _counts(history: list[DayCounts]) -> list[tuple[int, int, int]]:
    return [(c.promoters, c.passives, c.detractors) for c in history]


def false_alarm_cell(
    rng: random.Random, tau: float, rate: float, args: argparse.Namespace, design: Design
) -> FalseAlarms:
    years_each = 10
    units = math.ceil(args.unit_years / years_each)
    episodes = [0] * len(BASES)
    totals = [0] * 5
    for i in range(units):
        history = simulate(
            rng, Unit(BASES[i % len(BASES)], tau, rate), WARMUP_DAYS + 365 * years_each
        )
        cusum = evenings(history, design=design)
        episodes[i % len(BASES)] += count_episodes([e.alarm for e in cusum][WARMUP_DAYS - 1 :])
        totals = [t + f for t, f in zip(totals, _unit_figures(history, cusum), strict=True)]
    reference, watched, run_alarms, fallback, young = totals
    return FalseAlarms(
        tau,
        rate,
        units * years_each,
        tuple(episodes),
        reference,
        watched,
        run_alarms,
        units,
        (fallback, young),
    )


def _unit_figures(history: list[DayCounts], cusum: list[Evening]) -> tuple[int, ...]:
    """Today's rule's episodes after the warm-up; days watched and alarms for the run length;
    episodes of the fallback rule and of the CUSUM in the warm-up year."""
    watched, alarms = run_lengths([(e.statistic, e.alarm) for e in cusum[WARMUP_DAYS:]])
    first_year = cusum[:WARMUP_DAYS]
    return (
        count_episodes(reference_alarms(history)[WARMUP_DAYS - 1 :]),
        watched,
        alarms,
        count_episodes([False, *(e.alarm and e.method == "fallback" for e in first_year)]),
        count_episodes([False, *(e.alarm and e.method == "cusum" for e in first_year)]),
    )


def count_episodes(alarms: list[bool]) -> int:
    """Evenings with the alarm on after an evening with it off (the first one is the day
    before the counted span)."""
    return sum(1 for before, now in pairwise(alarms) if now and not before)


def run_lengths(states: list[tuple[float, bool]]) -> tuple[int, int]:
    """Days watched and alarms seen, watching from each evening with S = 0 and the alarm off
    to the next alarm evening (the last run is cut off at the end)."""
    watched = alarms = 0
    watching = False
    for s, alarm in states:
        if watching:
            watched += 1
            alarms += alarm
            watching = not alarm
        else:
            watching = s == 0.0 and not alarm
    return watched, alarms


def detection_cell(
    rng: random.Random,
    scenario: Scenario,
    tau: float,
    base: float,
    args: argparse.Namespace,
    design: Design,
) -> Detection:
    delays: list[float] = []
    reference: list[float] = []
    for _ in range(args.cases):
        start = WARMUP_DAYS + rng.randrange(DROP_WINDOW_DAYS)
        unit = Unit(base, tau, scenario.rate)
        history = simulate(rng, unit, start + HORIZON_DAYS, start, scenario)
        alarms = cusum_alarms(design)(history)
        if alarms[start - 1]:
            continue
        delays.append(delay(alarms, start))
        reference.append(delay(reference_alarms(history), start))
    return Detection(scenario, tau, base, delays, reference)


def delay(alarms: list[bool], start: int) -> float:
    """Days of the drop up to its first alarm evening; inf when there is none."""
    return next((t - start + 1 for t in range(start, len(alarms)) if alarms[t]), math.inf)


# The model worked out instead of simulated, for a unit whose baseline is long and right.


@cache
def eta_grid(tau: float) -> list[tuple[float, float]]:
    """(eta, weight): N(0, tau^2) on 121 points from -6 tau to 6 tau."""
    if not tau:
        return [(0.0, 1.0)]
    points = [k / 10 for k in range(-60, 61)]
    weights = [math.exp(-z * z / 2) for z in points]
    return [(z * tau, w / sum(weights)) for z, w in zip(points, weights, strict=True)]


@cache
def learned(base: float, tau: float) -> Baseline:
    """What a long baseline of a unit in control holds: the mean shares and their spread
    (whose tau2 is less than tau^2 where the shares are clipped)."""
    shares = [(level_shares(base + eta), w) for eta, w in eta_grid(tau)]
    p0 = sum(w * p for (p, _), w in shares)
    d0 = sum(w * d for (_, d), w in shares)
    spread = (
        sum(w * (p - p0) ** 2 for (p, _), w in shares),
        sum(w * (p - p0) * (d - d0) for (p, d), w in shares),
        sum(w * (d - d0) ** 2 for (_, d), w in shares),
    )
    return Baseline(p0, d0, spread)


def information_per_day(scenario: Scenario, tau: float, base: float) -> float:
    """n KL(q1 || q0) / phi of the drop, in nats a day (q0: the learned shares)."""
    q = learned(base, tau)
    move = MOVES[0] if scenario.into == "detractors" else MOVES[1]
    llr = weights(q, move, scenario.drop)  # the drop's own llr: a detector that knew it
    kl = sum(x0 * math.exp(x) * x for x0, x in zip(q.shares, llr, strict=True))
    return scenario.rate * kl / dispersion(round(scenario.rate), q, llr)


def increment_moments(
    unit: Unit, scenario: Scenario, design_drop: float, move: Move
) -> tuple[float, float]:
    """Mean and variance of a day's llr / phi of the CUSUM of `move` during the drop."""
    base = learned(unit.base, unit.tau)
    llr = weights(base, move, design_drop)
    a, c, b = llr
    days = [(scenario.shares(unit.base + eta), w) for eta, w in eta_grid(unit.tau)]

    def mean_of(p: float, d: float) -> float:
        return p * a + (1 - p - d) * c + d * b

    mean_1 = sum(w * mean_of(p, d) for (p, d), w in days)
    within = sum(
        w * (p * a * a + (1 - p - d) * c * c + d * b * b - mean_of(p, d) ** 2) for (p, d), w in days
    )
    between = sum(w * mean_of(p, d) ** 2 for (p, d), w in days) - mean_1**2
    mean = second = 0.0
    for n, chance in enumerate(poisson_pmf(unit.rate)):
        phi = dispersion(n, base, llr)
        mean += chance * n * mean_1 / phi
        second += chance * (n * within + n * n * (between + mean_1**2)) / phi**2
    return mean, second - mean**2


def siegmund(mean: float, variance: float, h: float) -> float:
    """Siegmund's approximation of a CUSUM's mean run length from 0 to h."""
    sigma = math.sqrt(variance)
    delta, b = mean / sigma, h / sigma + 1.166
    return (math.exp(-2 * delta * b) + 2 * delta * b - 1) / (2 * delta**2)


def adjustment(unit: Unit, design_drop: float) -> float:
    """The least over MOVES of theta with E[exp(theta llr / phi)] = 1 in control (1 for an
    exact log-likelihood ratio): the chance that a CUSUM climbs from 0 to H before it falls
    back is at most exp(-theta H), so over-dispersion the factor phi leaves over acts as a
    threshold theta H."""
    thetas = []
    for move in MOVES:
        low, high = 1e-6, 3.0
        for _ in range(40):
            middle = (low + high) / 2
            below = _mgf(unit, design_drop, move, middle) < 1
            low, high = (middle, high) if below else (low, middle)
        thetas.append(low)
    return min(thetas)


def _mgf(unit: Unit, design_drop: float, move: Move, theta: float) -> float:
    base = learned(unit.base, unit.tau)
    llr = weights(base, move, design_drop)
    a, c, b = llr
    days = [(level_shares(unit.base + eta), w) for eta, w in eta_grid(unit.tau)]
    total = 0.0
    for n, chance in enumerate(poisson_pmf(unit.rate)):
        phi = dispersion(n, base, llr)
        ea, ec, eb = (math.exp(theta * x / phi) for x in (a, c, b))
        total += chance * sum(w * (p * ea + (1 - p - d) * ec + d * eb) ** n for (p, d), w in days)
    return total


def percentile(values: list[float], q: float) -> float:
    """Nearest rank."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)] if ordered else math.nan


def found(values: list[float], within: int) -> float:
    return sum(1 for v in values if v <= within) / len(values) if values else math.nan


def render(
    args: argparse.Namespace,
    design: Design,
    false_alarms: list[FalseAlarms],
    detections: list[Detection],
    seconds: float,
) -> str:
    return "\n\n".join(
        [
            f"`python -m bench.nps_alarms --unit-years {args.unit_years} --cases {args.cases} "
            f"--seed {args.seed} --drop {design.drop:g} --h {design.h:g}`: DESIGN_DROP "
            f"{design.drop:g} points, H {design.h:g} nats; {seconds:.0f} s "
            f"(Python {sys.version.split()[0]}).",
            false_alarm_table(false_alarms, design),
            detection_table(detections, design),
        ]
    )


def false_alarm_table(cells: list[FalseAlarms], design: Design) -> str:
    worst = max(cell.per_year for cell in cells)
    rows = [
        "| tau | responses a day | unit-years | false alarm episodes / unit-year | episodes at "
        "base 60 / 70 / 80 | in-control run length, days | theta at base 60 / 70 / 80 | "
        "today's rule: episodes / unit-year | first year: episodes / unit, fallback + CUSUM |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        *(
            f"| {c.tau:g} | {c.rate:g} | {c.unit_years:g} | {c.per_year:.3f} | "
            f"{' / '.join(map(str, c.episodes))} | {_run_length(c)} | "
            + " / ".join(f"{adjustment(Unit(b, c.tau, c.rate), design.drop):.2f}" for b in BASES)
            + f" | {c.reference_per_year:.2f} ({c.reference_episodes}) | "
            f"{c.first_year[0] / c.units:.2f} + {c.first_year[1] / c.units:.2f} |"
            for c in cells
        ),
    ]
    verdict = "pass" if worst <= FALSE_ALARM_TARGET else "FAIL"
    return "\n".join(rows) + (
        f"\n\nWorst cell: {worst:.3f} episodes per unit-year (target <= {FALSE_ALARM_TARGET}: "
        f"{verdict}). theta: the chance that S climbs from 0 to H before it falls back to 0 is "
        f"at most exp(-theta H) (1 for an exact likelihood ratio; less where phi leaves "
        f"over-dispersion over). First year: alarm episodes of a new unit in its first year, "
        f"of the fallback rule (about 12 weeks) and of the CUSUM on a baseline of less than "
        f"half a year."
    )


def _run_length(cell: FalseAlarms) -> str:
    if not cell.run_alarms:
        return f"> {cell.watched_days:,}".replace(",", " ")
    return f"{cell.watched_days / cell.run_alarms:,.0f}".replace(",", " ")


def detection_table(cells: list[Detection], design: Design) -> str:
    rows = [
        "| drop | into | responses a day | tau | base NPS | cases | found | median delay | "
        "p90 delay | today's rule: found, median | nats a day | days to H | "
        "Lorden: days at 0.25 / yr | Siegmund: mean delay |",
        "|---:|---|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for c in cells:
        s = c.scenario
        info = information_per_day(s, c.tau, c.base)
        share = found(c.delays, s.within)
        unit = Unit(c.base, c.tau, s.rate)
        rows.append(
            f"| {s.drop:g} | {s.into} | {s.rate:g} | {c.tau:g} | {c.base:g} | {len(c.delays)} | "
            f"{share:.0%} in {s.within} d {'pass' if share >= SHARE_TARGET else 'FAIL'} | "
            f"{_days(percentile(c.delays, 0.5))} | {_days(percentile(c.delays, 0.9))} | "
            f"{found(c.reference_delays, s.within):.0%}, "
            f"{_days(percentile(c.reference_delays, 0.5))} | {info:.2f} | "
            f"{design.h / info:.1f} | {LORDEN_NATS / info:.1f} | "
            f"{_siegmund(unit, s, design):.1f} |"
        )
    return "\n".join(rows) + (
        "\n\nDelays in days, 1 = on the drop's first evening; found: the share of drops found "
        f"within the days given (target {SHARE_TARGET:.0%}). nats a day: the drop's information "
        "n KL / phi. days to H: H / that. Lorden: ln(365 / 0.25) / that, about the least mean "
        "delay of any detector with 0.25 false alarms a year (asymptotically, with a known "
        "baseline). Siegmund: the CUSUM's mean delay with a known baseline."
    )


def _siegmund(unit: Unit, scenario: Scenario, design: Design) -> float:
    """The mean delay of the CUSUM of MOVES that gets there first, on average."""
    moments = [increment_moments(unit, scenario, design.drop, move) for move in MOVES]
    return min(siegmund(mean, variance, design.h) for mean, variance in moments if mean > 0)


def _days(value: float) -> str:
    return f"> {HORIZON_DAYS}" if math.isinf(value) else f"{value:g}"


if __name__ == "__main__":
    sys.exit(main())
