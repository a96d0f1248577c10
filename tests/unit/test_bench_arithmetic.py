"""The benchmark suite's own arithmetic, with values worked out by hand: matching acks to
polled counts (freshness), rates of a consumer group, the results file's sections and the
suite's list of missed targets."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.__main__ import earlier_rows, missed_targets
from bench.freshness import visibility
from bench.gateway_load import parse_wrk
from bench.report import TITLE, write_section
from bench.together import GroupRun


def test_the_kth_ack_is_visible_at_the_first_poll_counting_k() -> None:
    # Acks at 1.00, 1.10, 1.20; polls (baseline 40): 1.05 -> 40, 1.15 -> 41, 1.30 -> 43.
    # Event 1: first count >= 1 at 1.15 -> 0.15 s; event 2: >= 2 at 1.30 -> 0.20 s;
    # event 3: >= 3 at 1.30 -> 0.10 s. Nearest rank: p50 = 0.15 s, p99 = max = 0.20 s.
    seen = [(1.05, 40.0), (1.15, 41.0), (1.30, 43.0)]
    visible = visibility([1.00, 1.10, 1.20], seen, 40.0, [0.01, 0.03, 0.02])
    assert visible.matched == 3
    assert visible.p50 == pytest.approx(0.15)
    assert visible.p99 == pytest.approx(0.20)
    assert visible.max == pytest.approx(0.20)
    assert visible.polls == 3
    assert visible.poll_p50 == pytest.approx(0.02)


def test_an_ack_never_seen_counted_is_left_out() -> None:
    visible = visibility([1.0, 2.0], [(1.5, 1.0)], 0.0, [0.01])
    assert visible.matched == 1
    assert visible.p99 == pytest.approx(0.5)


def test_group_rates_with_and_without_start_up() -> None:
    # 10 000 events; first commit of 1 000 at 2 s, all done at 6 s:
    # with start-up 10 000 / 6 s; steady 9 000 / 4 s = 2 250 events/s.
    run = GroupRun("chat_metrics", 10_000, 2.0, 1_000, 6.0, 0.5)
    assert run.rate_total == pytest.approx(10_000 / 6)
    assert run.rate_steady == pytest.approx(2_250)
    assert GroupRun("g", 500, 3.0, 500, 3.0, 0.5).rate_steady == pytest.approx(500 / 3)


def test_sections_are_replaced_in_place_and_the_suite_goes_first(tmp_path: Path) -> None:
    results = tmp_path / "RESULTS.md"
    write_section("a", "one", results)
    write_section("b", "two", results)
    write_section("a", "three", results)
    write_section("suite", "first", results, first=True)
    write_section("suite", "again", results, first=True)
    assert results.read_text() == (f"{TITLE}\n## suite\n\nagain\n\n## a\n\nthree\n\n## b\n\ntwo\n")


def test_missed_targets_names_the_section_and_the_figure() -> None:
    text = "\n".join(
        [
            "## freshness",
            "| figure | value | target | result |",
            "|---|---:|---|---|",
            "| 100 events/s: p99 | 200 ms | p99 < 1 s | pass |",
            "| 5000 events/s: p99 | 1200 ms | p99 < 1 s | FAIL |",
            "## replay",
            "| report | 6.1 s | < 5 s each | FAIL |",
        ]
    )
    assert missed_targets(text) == [
        "- freshness: 5000 events/s: p99 (1200 ms; target p99 < 1 s)",
        "- replay: report (6.1 s; target < 5 s each)",
    ]


WRK_LOADED = """Running 10s test @ http://127.0.0.1:8000/v1/chat/queues
  2 threads and 32 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   116.21ms   25.13ms 250.00ms   70.00%
    Req/Sec   143.50     20.11   190.00     68.00%
  Latency Distribution
     50%  116.00ms
     75%  130.00ms
     90%  150.00ms
     99%  188.00ms
  2850 requests in 10.01s, 1.20MB read
  Socket errors: connect 0, read 2, write 0, timeout 1
  Non-2xx or 3xx responses: 4
Requests/sec:    284.72
Transfer/sec:    122.88KB
"""


def test_wrk_output_read_with_its_units_and_every_kind_of_error() -> None:
    loaded = parse_wrk(WRK_LOADED)
    assert loaded.p50 == pytest.approx(0.116)
    assert loaded.p99 == pytest.approx(0.188)
    assert loaded.requests == 2850
    assert loaded.per_second == pytest.approx(284.72)
    assert loaded.errors == 2 + 1 + 4
    quiet = parse_wrk(
        WRK_LOADED.replace("116.00ms", "812.00us")
        .replace("188.00ms", "1.64s")
        .replace("  Socket errors: connect 0, read 2, write 0, timeout 1\n", "")
        .replace("  Non-2xx or 3xx responses: 4\n", "")
    )
    assert quiet.p50 == pytest.approx(0.000812)
    assert quiet.p99 == pytest.approx(1.64)
    assert quiet.errors == 0


def test_the_suite_keeps_the_rows_of_benchmarks_not_run_again() -> None:
    results = "\n".join(
        [
            TITLE,
            "## suite",
            "",
            "| benchmark | what | run at (UTC) | exit | minutes |",
            "|---|---|---|---:|---:|",
            "| chat_metrics | alone | 2026-11-26 14:14 | 0 | 2.0 |",
            "| replay | a year | 2026-11-26 14:38 | 0 | 11.2 |",
            "",
            "## chat_metrics",
            "| chat_metrics | not a suite row | x | 1 | 9.9 |",
        ]
    )
    assert earlier_rows(results) == {
        "chat_metrics": "| chat_metrics | alone | 2026-11-26 14:14 | 0 | 2.0 |",
        "replay": "| replay | a year | 2026-11-26 14:38 | 0 | 11.2 |",
    }
    assert earlier_rows(TITLE) == {}
