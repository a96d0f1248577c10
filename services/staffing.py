"""`kanava staffing`: how many professionals a chat queue needs for an hour's offered chats
(services/common/erlang.py, docs/staffing.md), for planners and to check the model by hand."""

from __future__ import annotations

import argparse
import json
import math
import sys

from services.common.erlang import Load, Staffing, advise

PROG = "kanava staffing"


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "staffing",
        help="professionals a chat queue needs to meet its service level (Erlang C / A)",
        description=__doc__,
    )
    add = parser.add_argument
    add("--offered-per-hour", type=float, required=True, metavar="N", help="chats offered")
    add("--handle-seconds", type=float, required=True, metavar="S", help="mean handle time")
    add("--concurrency", type=int, default=1, metavar="C", help="chats per professional (1)")
    add("--target-seconds", type=float, required=True, metavar="T", help="answered within")
    add("--target-ratio", type=float, required=True, metavar="R", help="e.g. 0.8 for 80 %%")
    add(
        "--patience-seconds",
        type=float,
        default=None,
        metavar="P",
        help="mean time a waiting client stays: Erlang A instead of Erlang C",
    )
    add("--json", action="store_true", help="print the figures as JSON")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    try:
        load = Load(
            args.offered_per_hour, args.handle_seconds, args.concurrency, args.patience_seconds
        )
        advice = advise(load, args.target_seconds, args.target_ratio)
        without_patience = (
            None
            if args.patience_seconds is None
            else advise(
                Load(load.offered_per_hour, load.handle_seconds, load.concurrency),
                args.target_seconds,
                args.target_ratio,
            )
        )
    except ValueError as exc:
        print(f"{PROG}: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(as_json(load, advice, without_patience)))
    else:
        print(describe(load, advice, without_patience, args.target_seconds, args.target_ratio))
    return 0


def as_json(load: Load, advice: Staffing, erlang_c: Staffing | None) -> dict[str, object]:
    figures: dict[str, object] = {
        "professionals": advice.professionals,
        "service_level": advice.service_level,
        "asa_seconds": advice.asa_seconds if math.isfinite(advice.asa_seconds) else None,
        "model": advice.model,
        "servers": advice.servers,
        "offered_erlangs": load.erlangs,
        "wait_probability": advice.wait_probability,
        "abandon_probability": advice.abandon_probability,
    }
    if erlang_c is not None:
        figures["erlang_c_professionals"] = erlang_c.professionals
    return figures


def describe(
    load: Load, advice: Staffing, erlang_c: Staffing | None, seconds: float, ratio: float
) -> str:
    model = "Erlang A" if advice.model == "erlang_a" else "Erlang C"
    lines = [
        f"{advice.professionals} professionals ({advice.servers} chats at once), by {model}",
        f"  offered load {load.erlangs:.2f} erlangs: {load.offered_per_hour:g} chats an hour, "
        f"{load.handle_seconds:g} s each, {load.concurrency} at a time per professional",
        f"  service level {advice.service_level:.1%} answered within {seconds:g} s "
        f"(target {ratio:.1%})",
        f"  mean wait of the answered (ASA) {advice.asa_seconds:.1f} s; "
        f"{advice.wait_probability:.1%} of clients wait",
    ]
    if erlang_c is not None:
        lines.append(
            f"  {advice.abandon_probability:.1%} give up waiting (mean patience "
            f"{load.patience_seconds:g} s); Erlang C, where nobody gives up, would advise "
            f"{erlang_c.professionals}"
        )
    return "\n".join(lines)
