"""The dev stack's restarts: the pause schedule, one line per restart, what is not restarted,
and the broker's dependents; real short-lived processes, a clock of the test's own."""

from __future__ import annotations

import signal
from collections.abc import Iterator

import pytest

from services.devstack.children import Child, stop_all
from services.devstack.supervisor import Backoff, Supervisor, exit_status


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def started() -> Iterator[list[Child]]:
    children: list[Child] = []
    yield children
    stop_all(children, grace=1)


def run(children: list[Child], name: str, script: str) -> Child:
    child = Child(name, ["sh", "-c", script])
    child.start()
    children.append(child)
    return child


def ended(child: Child) -> int:
    assert child.process is not None
    return child.process.wait(timeout=10)


def lines(capsys: pytest.CaptureFixture[str]) -> list[str]:
    return capsys.readouterr().err.splitlines()


def test_the_pause_doubles_from_one_second_up_to_thirty() -> None:
    backoff = Backoff()
    assert [backoff.pause_after(uptime=2) for _ in range(8)] == [1, 2, 4, 8, 16, 30, 30, 30]


def test_a_child_that_stayed_up_a_minute_starts_again_at_one_second() -> None:
    backoff = Backoff()
    assert [backoff.pause_after(uptime=5) for _ in range(3)] == [1, 2, 4]
    assert backoff.pause_after(uptime=59.9) == 8
    assert backoff.pause_after(uptime=60) == 1
    assert backoff.pause_after(uptime=0.1) == 2


def test_an_exit_status_names_the_signal_that_killed() -> None:
    assert exit_status(-9) == "exited with code -9 (killed by SIGKILL)"
    assert exit_status(-15) == "exited with code -15 (killed by SIGTERM)"
    assert exit_status(3) == "exited with code 3"
    assert exit_status(0) == "exited with code 0"


def test_a_failing_child_is_restarted_when_its_pause_is_over(
    started: list[Child], capsys: pytest.CaptureFixture[str]
) -> None:
    clock = Clock()
    child = run(started, "chat_metrics", "exit 3")
    supervisor = Supervisor(clock)
    supervisor.watch(child)
    first = child.process
    ended(child)

    supervisor.check()
    assert lines(capsys) == [
        "kanava up: chat_metrics exited with code 3; restarting in 1 s (restart 1)"
    ]
    clock.now += 0.9
    supervisor.check()
    assert child.process is first
    clock.now += 0.1
    supervisor.check()
    assert child.process is not first
    assert ended(child) == 3
    clock.now += 5
    supervisor.check()
    supervisor.check()
    assert lines(capsys) == [
        "kanava up: chat_metrics exited with code 3; restarting in 2 s (restart 2)"
    ]


def test_a_killed_child_is_one_line_naming_the_signal(
    started: list[Child], capsys: pytest.CaptureFixture[str]
) -> None:
    child = run(started, "gateway", "exec sleep 30")
    supervisor = Supervisor(Clock())
    supervisor.watch(child)
    supervisor.check()
    assert child.process is not None
    child.process.send_signal(signal.SIGKILL)
    ended(child)
    supervisor.check()
    supervisor.check()
    assert lines(capsys) == [
        "kanava up: gateway exited with code -9 (killed by SIGKILL); restarting in 1 s (restart 1)"
    ]


def test_a_finished_simulator_is_not_restarted_but_a_failed_one_is(
    started: list[Child], capsys: pytest.CaptureFixture[str]
) -> None:
    clock = Clock()
    finished = run(started, "simulator", "exit 0")
    failed = run(started, "other simulator", "exit 2")
    supervisor = Supervisor(clock)
    supervisor.watch(finished, finishes=True)
    supervisor.watch(failed, finishes=True)
    first = finished.process
    ended(finished)
    ended(failed)

    supervisor.check()
    clock.now += 60
    supervisor.check()
    assert finished.process is first
    assert lines(capsys) == [
        "kanava up: simulator finished",
        "kanava up: other simulator exited with code 2; restarting in 1 s (restart 1)",
    ]


def test_the_dependents_stop_with_what_they_depend_on_and_start_after_it(
    started: list[Child], capsys: pytest.CaptureFixture[str]
) -> None:
    clock = Clock()
    broker = run(started, "broker", "exec sleep 30")
    service = run(started, "service", "exec sleep 30")
    supervisor = Supervisor(clock)
    dependent = supervisor.watch(service)
    supervisor.watch(broker, dependents=[dependent], note="; service stops until it is back")
    assert broker.process is not None
    broker.process.kill()
    ended(broker)

    supervisor.check()
    assert ended(service) == -signal.SIGTERM
    clock.now += 0.5
    supervisor.check()
    assert lines(capsys) == [
        "kanava up: broker exited with code -9 (killed by SIGKILL); restarting in 1 s "
        "(restart 1); service stops until it is back"
    ]
    clock.now += 0.5
    supervisor.check()
    assert broker.exited() is None
    assert service.exited() is None
    assert lines(capsys) == []


def test_a_restart_that_fails_is_tried_again_after_a_longer_pause(
    started: list[Child], capsys: pytest.CaptureFixture[str]
) -> None:
    clock = Clock()
    broker = run(started, "broker", "exit 1")
    attempts: list[float] = []

    def start_again() -> None:
        attempts.append(clock.now)
        raise RuntimeError("the broker did not listen")

    supervisor = Supervisor(clock)
    supervisor.watch(broker, start=start_again)
    ended(broker)
    for _ in range(4):
        supervisor.check()
        clock.now += 1
    assert attempts == [101, 103]
    assert lines(capsys) == [
        "kanava up: broker exited with code 1; restarting in 1 s (restart 1)",
        "kanava up: broker did not start again (the broker did not listen); restarting in "
        "2 s (restart 2)",
        "kanava up: broker did not start again (the broker did not listen); restarting in "
        "4 s (restart 3)",
    ]
