"""How many professionals a chat queue needs: Erlang C, and Erlang A when clients give up.

Each professional serves up to `concurrency` chats at once and counts as that many servers.
Arrivals are Poisson, handle times exponential with mean S, servers n = professionals *
concurrency, offered load A = λ·S. docs/staffing.md has the formulas and what each figure
means; everything here is computed in floating point without factorials, so it stays exact
(to rounding) for any number of servers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import accumulate
from typing import Literal

Model = Literal["erlang_c", "erlang_a"]

_TAIL = 1e-15
"""Probability mass left out when a sum over queue lengths or Poisson steps is cut."""
_MAX_QUEUE = 1_000_000
_STEP = 30.0
"""Expected Poisson events per uniformisation chunk: e^-30 is far from underflow."""


@dataclass(frozen=True)
class Load:
    """What a queue is offered in an hour, and how its chats are served."""

    offered_per_hour: float
    handle_seconds: float
    concurrency: int = 1
    patience_seconds: float | None = None  # mean time a waiting client stays; None: forever

    def __post_init__(self) -> None:
        if self.offered_per_hour < 0 or not math.isfinite(self.offered_per_hour):
            raise ValueError("offered per hour must be a number ≥ 0")
        if not self.handle_seconds > 0 or not math.isfinite(self.handle_seconds):
            raise ValueError("handle seconds must be a number > 0")
        if self.concurrency < 1:
            raise ValueError("concurrency must be a whole number ≥ 1")
        patience = self.patience_seconds
        if patience is not None and (not patience > 0 or not math.isfinite(patience)):
            raise ValueError("patience seconds must be a number > 0")

    @property
    def erlangs(self) -> float:
        """A = λ·S: the chats in service at once on average if nobody waited."""
        return self.offered_per_hour / 3600 * self.handle_seconds

    @property
    def model(self) -> Model:
        return "erlang_c" if self.patience_seconds is None else "erlang_a"


@dataclass(frozen=True)
class Staffing:
    """A queue's figures with a number of professionals on duty."""

    model: Model
    professionals: int
    servers: int
    wait_probability: float  # an arriving client finds every server busy
    service_level: float  # share of arriving clients answered within the target time
    asa_seconds: float  # mean wait of the clients answered (inf: the queue grows without end)
    abandon_probability: float  # share of arriving clients who leave before an answer


def erlang_b(servers: int, erlangs: float) -> float:
    """Blocking probability of `servers` with load A, by the recursion
    B(0) = 1, B(k) = A·B(k-1) / (k + A·B(k-1)): no factorials, no overflow."""
    blocking = 1.0
    for k in range(1, servers + 1):
        blocking = erlangs * blocking / (k + erlangs * blocking)
    return blocking


def erlang_c(servers: int, erlangs: float) -> float:
    """Probability that a client waits: C(n, A) = n·B / (n - A·(1 - B)); 1 when n ≤ A."""
    if erlangs <= 0:
        return 0.0
    if servers <= erlangs:
        return 1.0
    blocking = erlang_b(servers, erlangs)
    return servers * blocking / (servers - erlangs * (1 - blocking))


def staffing(load: Load, professionals: int, target_seconds: float) -> Staffing:
    """The figures with `professionals` on duty, by the load's model."""
    if professionals < 0:
        raise ValueError("professionals must be ≥ 0")
    servers = professionals * load.concurrency
    if load.offered_per_hour == 0:
        return Staffing(load.model, professionals, servers, 0.0, 1.0, 0.0, 0.0)
    if load.patience_seconds is None:
        return _erlang_c(load, professionals, servers, target_seconds)
    return _erlang_a(load, professionals, servers, target_seconds, load.patience_seconds)


def advise(load: Load, target_seconds: float, target_ratio: float) -> Staffing:
    """The fewest professionals whose service level meets the target ratio (0 < ratio < 1),
    with their figures. The service level grows with every professional added."""
    if not 0 < target_ratio < 1:
        raise ValueError("target ratio must be above 0 and below 1")
    if target_seconds < 0:
        raise ValueError("target seconds must be ≥ 0")

    def meets(professionals: int) -> bool:
        return staffing(load, professionals, target_seconds).service_level >= target_ratio

    low = math.floor(load.erlangs / load.concurrency) if load.patience_seconds is None else 0
    if meets(low):
        return staffing(load, low, target_seconds)
    high = max(1, 2 * low)
    while not meets(high):
        low, high = high, 2 * high
    while high - low > 1:  # meets(high), not meets(low)
        middle = (low + high) // 2
        low, high = (low, middle) if meets(middle) else (middle, high)
    return staffing(load, high, target_seconds)


def _erlang_c(load: Load, professionals: int, servers: int, target: float) -> Staffing:
    erlangs, handle = load.erlangs, load.handle_seconds
    if servers <= erlangs:
        return Staffing("erlang_c", professionals, servers, 1.0, 0.0, math.inf, 0.0)
    waits = erlang_c(servers, erlangs)
    level = 1 - waits * math.exp(-(servers - erlangs) * target / handle)
    asa = waits * handle / (servers - erlangs)
    return Staffing("erlang_c", professionals, servers, waits, level, asa, 0.0)


def _erlang_a(
    load: Load, professionals: int, servers: int, target: float, patience: float
) -> Staffing:
    """M/M/n+M. A client who finds every server busy and k others waiting ahead moves up one
    place at rate n·μ + k·θ (a chat ends, or one ahead gives up) and gives up at rate θ; stage
    k thus ends after an exponential time of rate b_k = n·μ + (k+1)·θ, by moving up with
    probability s_k = (n·μ + k·θ) / b_k. Served from stage k: s_0·…·s_k, after a time that is
    the sum of those exponentials (a hypoexponential)."""
    arrival, ends, gives_up = load.offered_per_hour / 3600, 1 / load.handle_seconds, 1 / patience
    busy = servers * ends
    ahead = _queue_weights(arrival, busy, gives_up)
    blocking = erlang_b(servers, load.erlangs)
    mass = sum(ahead)
    waits = blocking * mass / (1 - blocking + blocking * mass)
    rates = [busy + (k + 1) * gives_up for k in range(len(ahead))]
    served = list(accumulate(((rate - gives_up) / rate for rate in rates), lambda a, b: a * b))
    start = [w / mass * s for w, s in zip(ahead, served, strict=True)]
    answered_if_waiting = sum(start)
    mean_stage = accumulate(1 / rate for rate in rates)
    wait_if_waiting = sum(s * m for s, m in zip(start, mean_stage, strict=True))
    within_if_waiting = answered_if_waiting - _still_waiting(start, rates, target)
    answered = 1 - waits + waits * answered_if_waiting
    asa = waits * wait_if_waiting / answered if answered > 0 else math.inf
    return Staffing(
        "erlang_a",
        professionals,
        servers,
        waits,
        1 - waits + waits * within_if_waiting,
        asa,
        waits * (1 - answered_if_waiting),
    )


def _queue_weights(arrival: float, busy: float, gives_up: float) -> list[float]:
    """r_k = Π_{i=1..k} λ / (n·μ + i·θ): the stationary chance of k waiting relative to none
    waiting with every server busy; cut once the terms shrink and are negligible."""
    weights, total = [1.0], 1.0
    for k in range(1, _MAX_QUEUE):
        rate = busy + k * gives_up
        weights.append(weights[-1] * arrival / rate)
        total += weights[-1]
        if rate > arrival and weights[-1] < _TAIL * total:
            return weights
    raise ValueError("the queue's length does not converge: patience too long for this load")


def _still_waiting(start: list[float], rates: list[float], seconds: float) -> float:
    """Mass not yet answered after `seconds` of the pure-death chain that leaves stage k at
    rate b_k for stage k-1 (stage 0: answered), from `start`; by uniformisation in chunks of
    at most `_STEP` expected jumps, so that no Poisson weight underflows."""
    uniform = max(rates)
    chunks = max(1, math.ceil(uniform * seconds / _STEP))
    jumps = uniform * seconds / chunks
    stay = [1 - rate / uniform for rate in rates]
    move = [rate / uniform for rate in rates]
    mass = list(start)
    for _ in range(chunks):
        weight = math.exp(-jumps)
        after = [weight * m for m in mass]
        step, left = 0, 1 - weight
        while left > _TAIL and any(mass):
            step += 1
            mass = [
                m * s + (mass[k + 1] * move[k + 1] if k + 1 < len(mass) else 0.0)
                for k, (m, s) in enumerate(zip(mass, stay, strict=True))
            ]
            weight *= jumps / step
            left -= weight
            after = [a + weight * m for a, m in zip(after, mass, strict=True)]
        mass = after
    return sum(mass)
