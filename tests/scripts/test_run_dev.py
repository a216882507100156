"""`make run` (scripts/run_dev.py) as a whole: a process that exits is started again while the
others keep running, and only a signal stops the stack. Its real commands are swapped for tiny
ones: the web server and workers are not what is under test."""

import importlib.util
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


def _run_dev_module():
    spec = importlib.util.spec_from_file_location("run_dev", RUN_DEV)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _shape(layout):
    return {name: (pool.processes, pool.threads) for name, pool in layout.items()}


def test_two_cores_get_the_layout_the_bench_measures():
    run_dev = _run_dev_module()
    layout = run_dev.process_layout(cores=2, free_connections=100)
    assert _shape(layout) == {
        "web": (2, 12),
        "realtime": (2, 12),
        "standard": (1, 16),
        "batch": (1, 2),
    }


@pytest.mark.parametrize(("cores", "free"), [(8, 100), (64, 100), (2, 30), (16, 500)])
def test_the_layout_stays_within_the_free_connections(cores, free):
    run_dev = _run_dev_module()
    layout = run_dev.process_layout(cores=cores, free_connections=free)
    used = sum(pool.connections for pool in layout.values()) + run_dev.OTHER_CONNECTIONS
    assert used <= free
    assert all(pool.processes >= 1 and pool.threads >= 1 for pool in layout.values())
    assert layout["realtime"].processes <= cores


def test_too_few_connections_stop_with_what_to_do():
    run_dev = _run_dev_module()
    with pytest.raises(SystemExit, match="max_connections"):
        run_dev.process_layout(cores=2, free_connections=10)


def test_commands_start_threads_pools_per_core_and_the_batch_worker_at_nice_19(monkeypatch):
    """Workers run without DEBUG (no statement log), as the bench runs them."""
    run_dev = _run_dev_module()
    monkeypatch.setattr(run_dev, "free_connections", lambda: 100)
    monkeypatch.setattr(run_dev.os, "cpu_count", lambda: 2)
    commands = run_dev.commands({"connections": []})

    workers = {name: command for name, command in commands.items() if "worker" in command}
    assert sorted(workers) == [
        "worker-batch",
        "worker-realtime-1",
        "worker-realtime-2",
        "worker-standard",
    ]
    for command in workers.values():
        assert command[command.index("--pool") + 1] == "threads"
    for command in workers.values():
        assert command[:2] == ["env", "DEBUG=false"]
    assert workers["worker-batch"][2:5] == ["nice", "-n", "19"]
    assert (
        workers["worker-realtime-1"][workers["worker-realtime-1"].index("--concurrency") + 1]
        == "12"
    )
    web = commands["web"]
    assert web[web.index("--workers") + 1] == "2" and web[web.index("--threads") + 1] == "12"
