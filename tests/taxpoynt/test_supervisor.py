"""The supervisor of `make run`'s processes: a child that exits is started again after a back-off
that doubles (and starts over once it ran stably); only stop() ends the children."""

import signal
import sys
import time

import pytest

from taxpoynt.lib.supervisor import Supervisor, exit_described

EXITS = [sys.executable, "-c", "import sys; sys.exit(3)"]
SLEEPS = [sys.executable, "-c", "import time; time.sleep(120)"]


class FakeClock:
    """The supervisor's clock, moved by the test: back-offs are checked without waiting."""

    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def made():
    """Supervisors made by the test; their children are stopped at the end whatever happens."""
    supervisors = []

    def make(commands, **options):
        supervisor = Supervisor(commands, **options)
        supervisors.append(supervisor)
        return supervisor

    yield make
    for supervisor in supervisors:
        supervisor.stop()


def _wait_for_exit(supervisor, name):
    # A generous bound so that a broken child cannot hang the suite; not a speed check.
    supervisor.processes()[name].wait(timeout=60)


def _back_off_observed(supervisor, clock, name, *, ran: float) -> float:
    """Let the child exit after running ``ran`` (clock) seconds and return how long the
    supervisor waited before starting it again."""
    clock.now += ran
    _wait_for_exit(supervisor, name)
    supervisor.check()
    waited = 0.0
    # Bounded: a supervisor that never restarts it fails the test instead of hanging it.
    while supervisor.processes()[name] is None and waited < 1000:
        clock.now += 0.25
        waited += 0.25
        supervisor.check()
    return waited


def test_a_child_that_exits_is_restarted_with_a_back_off_that_doubles_up_to_the_cap(made):
    clock, logged = FakeClock(), []
    supervisor = made(
        {"crasher": EXITS, "steady": SLEEPS},
        first_delay=1.0,
        max_delay=4.0,
        stable_after=60.0,
        clock=clock,
        log=logged.append,
    )
    supervisor.start()
    steady = supervisor.processes()["steady"]
    pids = [supervisor.processes()["crasher"].pid]

    waits = []
    for _ in range(5):
        waits.append(_back_off_observed(supervisor, clock, "crasher", ran=0.5))
        pids.append(supervisor.processes()["crasher"].pid)

    assert waits == [1.0, 2.0, 4.0, 4.0, 4.0]
    assert len(set(pids)) == len(pids)
    # The others are left alone.
    assert supervisor.processes()["steady"] is steady
    assert steady.poll() is None
    assert logged[0] == "crasher exited with 3 after 0.5 s; restarting in 1 s"
    assert logged[1] == f"crasher restarted (pid {pids[1]})"
    assert logged[4] == "crasher exited with 3 after 0.5 s; restarting in 4 s"


def test_the_back_off_starts_over_once_a_child_ran_stably(made):
    clock = FakeClock()
    supervisor = made(
        {"crasher": EXITS},
        first_delay=1.0,
        max_delay=30.0,
        stable_after=60.0,
        clock=clock,
        log=[].append,
    )
    supervisor.start()

    waits = [
        _back_off_observed(supervisor, clock, "crasher", ran=ran)
        for ran in (0.5, 0.5, 0.5, 90.0, 0.5)
    ]

    assert waits == [1.0, 2.0, 4.0, 1.0, 2.0]


def test_a_command_that_cannot_start_is_retried_with_the_same_back_off(made, tmp_path):
    clock, logged = FakeClock(), []
    supervisor = made(
        {"missing": [str(tmp_path / "no-such-program")]}, clock=clock, log=logged.append
    )

    supervisor.start()

    assert supervisor.processes()["missing"] is None
    assert logged[0].startswith("missing could not start (")
    assert logged[0].endswith("retrying in 1 s")
    clock.now += 1.0
    supervisor.check()
    assert logged[-1].endswith("retrying in 2 s")


def test_stop_terminates_every_child_and_kills_the_ones_that_ignore_it(made, tmp_path):
    ready = tmp_path / "ready"
    stubborn = [
        sys.executable,
        "-c",
        "import pathlib, signal, sys, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
        "pathlib.Path(sys.argv[1]).touch(); time.sleep(120)",
        str(ready),
    ]
    logged = []
    supervisor = made(
        {"steady": SLEEPS, "stubborn": stubborn, "crasher": EXITS},
        stop_timeout=0.5,
        log=logged.append,
    )
    supervisor.start()
    processes = supervisor.processes()
    _wait_for_exit(supervisor, "crasher")
    supervisor.check()
    # Terminated before it ignores SIGTERM, it would die of it: wait until it does.
    while not ready.exists():
        assert processes["stubborn"].poll() is None
        time.sleep(0.02)

    supervisor.stop()

    assert processes["steady"].returncode == -signal.SIGTERM
    assert processes["stubborn"].returncode == -signal.SIGKILL
    assert "stubborn still running after 0.5 s: killing it" in logged
    # Nothing is started again once stopped, not even the one waiting out its back-off.
    time.sleep(1.0)
    supervisor.check()
    assert supervisor.processes() == {
        "steady": processes["steady"],
        "stubborn": processes["stubborn"],
        "crasher": None,
    }


@pytest.mark.parametrize(
    ("returncode", "described"),
    [
        (0, "exited with 0"),
        (3, "exited with 3"),
        (-9, "killed by SIGKILL"),
        (-15, "killed by SIGTERM"),
    ],
)
def test_exits_are_described_with_their_code_or_signal(returncode, described):
    assert exit_described(returncode) == described
