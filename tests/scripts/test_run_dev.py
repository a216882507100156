"""`make run` (scripts/run_dev.py) as a whole: a process that exits is started again while the
others keep running, and only a signal stops the stack. Its real commands are swapped for tiny
ones: the web server and workers are not what is under test."""

import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

RUN_DEV = Path(__file__).resolve().parents[2] / "scripts" / "run_dev.py"

# Loads run_dev.py as a module, points it at a demo.json of the test's and at tiny commands.
LAUNCHER = """
import importlib.util, json, pathlib, sys

spec = importlib.util.spec_from_file_location("run_dev", sys.argv[1])
run_dev = importlib.util.module_from_spec(spec)
spec.loader.exec_module(run_dev)
run_dev.ROOT = pathlib.Path(sys.argv[2])
commands = json.loads(sys.argv[3])
run_dev.commands = lambda demo: commands
sys.exit(run_dev.main())
"""

DEMO = {
    "url": "http://127.0.0.1:8000",
    "operator": {"username": "operator", "password": "demo-operator-password"},
    "tenant": {"username": "tenant", "password": "demo-tenant-password", "api_token": "t0ken"},
}


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


# Notes each signal it gets; a SIGTERM ends it. It says it is ready once it listens.
STEADY = """
import os, pathlib, signal, sys, time

received, ready = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])

def note(signum, frame):
    with received.open("a") as notes:
        notes.write(signal.Signals(signum).name + "\\n")
    if signum == signal.SIGTERM:
        sys.exit(0)

signal.signal(signal.SIGINT, note)
signal.signal(signal.SIGTERM, note)
ready.write_text(str(os.getpid()))
while True:
    time.sleep(1)
"""


def _ctrl_c(stack):
    # The terminal sends SIGINT to its whole foreground process group.
    os.killpg(stack.pid, signal.SIGINT)


STOPS = {
    "ctrl-c": _ctrl_c,
    "sigterm": lambda stack: stack.send_signal(signal.SIGTERM),
    "hang-up": lambda stack: stack.send_signal(signal.SIGHUP),
}


@pytest.mark.slow
@pytest.mark.parametrize("stop", sorted(STOPS))
def test_a_process_that_exits_is_restarted_and_only_a_signal_stops_the_stack(tmp_path, stop):
    (tmp_path / "var").mkdir()
    (tmp_path / "var" / "demo.json").write_text(json.dumps(DEMO))
    received, ready = tmp_path / "received", tmp_path / "ready"
    commands = {
        "steady": [sys.executable, "-c", STEADY, str(received), str(ready)],
        # The demo traffic dying on a database blip, say.
        "flaky": [sys.executable, "-c", "import sys; sys.exit(3)"],
    }
    stack = subprocess.Popen(
        [sys.executable, "-c", LAUNCHER, str(RUN_DEV), str(tmp_path), json.dumps(commands)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        # A process group of its own, as a shell gives a foreground job.
        start_new_session=True,
    )
    # A stack that hangs must not hang the suite.
    watchdog = threading.Timer(120, lambda: os.killpg(stack.pid, signal.SIGKILL))
    watchdog.start()
    try:
        lines = []
        for line in stack.stdout:
            lines.append(line.rstrip("\n"))
            if "flaky restarted (pid " in line:
                break
        assert any("flaky exited with 3 after" in line for line in lines), lines
        assert "flaky restarted (pid " in lines[-1], lines
        # Still up after its sibling died.
        assert stack.poll() is None
        steady = int(ready.read_text())
        assert _alive(steady)

        STOPS[stop](stack)
        output, _ = stack.communicate()
    finally:
        watchdog.cancel()
        if stack.poll() is None:
            os.killpg(stack.pid, signal.SIGKILL)

    assert stack.returncode == 0, output
    assert "stopping every child" in output
    assert not _alive(steady)
    # One graceful signal, from the supervisor: a Ctrl-C at the terminal does not reach the
    # children too (a second signal mid-shutdown deadlocks Celery beat).
    assert received.read_text() == "SIGTERM\n"
