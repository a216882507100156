"""Keeps a set of named child processes running, for `make run`.

A child that exits is started again after a back-off that doubles while it keeps failing fast
(``first_delay`` up to ``max_delay``) and starts over once it has run ``stable_after`` seconds;
each exit and restart is logged with the child's name and exit code. Only ``stop()`` ends the
children: one SIGTERM to each, then SIGKILL to any still running after ``stop_timeout``.
"""

import signal
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass


@dataclass
class _Child:
    name: str
    command: Sequence[str]
    process: subprocess.Popen | None = None
    started_at: float = 0.0
    # The back-off used after its last exit; 0 until it first exits.
    delay: float = 0.0
    restart_at: float | None = None


def _print(message: str) -> None:
    print(f"{time.strftime('%H:%M:%S')} supervisor: {message}", flush=True)


def exit_described(returncode: int) -> str:
    """``exited with 1``, or ``killed by SIGKILL`` for a signal (Popen's negative codes)."""
    if returncode < 0:
        try:
            return f"killed by {signal.Signals(-returncode).name}"
        except ValueError:
            return f"killed by signal {-returncode}"
    return f"exited with {returncode}"


class Supervisor:
    def __init__(
        self,
        commands: Mapping[str, Sequence[str]],
        *,
        first_delay: float = 1.0,
        max_delay: float = 30.0,
        stable_after: float = 60.0,
        stop_timeout: float = 20.0,
        clock: Callable[[], float] = time.monotonic,
        log: Callable[[str], None] = _print,
    ):
        self._children = [_Child(name, list(command)) for name, command in commands.items()]
        self.first_delay = first_delay
        self.max_delay = max_delay
        self.stable_after = stable_after
        self.stop_timeout = stop_timeout
        self._clock = clock
        self._log = log
        self._stopped = False

    def processes(self) -> dict[str, subprocess.Popen | None]:
        """Each child's current process; None while it waits for its restart."""
        return {child.name: child.process for child in self._children}

    def start(self) -> None:
        for child in self._children:
            self._spawn(child)

    def check(self) -> None:
        """One round: note the children that exited (and when each starts again), and start
        the ones whose back-off is over. Nothing once stopped."""
        if self._stopped:
            return
        now = self._clock()
        for child in self._children:
            if child.process is not None and child.process.poll() is not None:
                how = exit_described(child.process.returncode)
                ran = now - child.started_at
                delay = self._schedule_restart(child, now=now)
                self._log(f"{child.name} {how} after {ran:.1f} s; restarting in {delay:g} s")
            if child.restart_at is not None and now >= child.restart_at:
                self._spawn(child)

    def run(self, *, stopping: Callable[[], bool], poll_seconds: float = 0.5) -> None:
        """Start every child and keep them running until ``stopping()``; then stop them."""
        self.start()
        try:
            while not stopping():
                self.check()
                time.sleep(poll_seconds)
            self._log("stopping every child")
        finally:
            self.stop()

    def stop(self) -> None:
        self._stopped = True
        running = [
            child for child in self._children if child.process and child.process.poll() is None
        ]
        for child in running:
            child.process.terminate()
        deadline = self._clock() + self.stop_timeout
        for child in running:
            try:
                child.process.wait(timeout=max(0.0, deadline - self._clock()))
            except subprocess.TimeoutExpired:
                self._log(f"{child.name} still running after {self.stop_timeout:g} s: killing it")
                child.process.kill()
                child.process.wait()

    def _spawn(self, child: _Child) -> None:
        restarting = child.restart_at is not None
        child.restart_at = None
        child.started_at = self._clock()
        try:
            # A process group of its own: a Ctrl-C at the terminal reaches the supervisor alone,
            # which then sends each child one SIGTERM. Celery beat deadlocks when a SIGTERM
            # lands while it is still handling the terminal's SIGINT.
            child.process = subprocess.Popen(child.command, process_group=0)  # noqa: S603
        except OSError as error:
            delay = self._schedule_restart(child, now=child.started_at)
            self._log(f"{child.name} could not start ({error}); retrying in {delay:g} s")
            return
        if restarting:
            self._log(f"{child.name} restarted (pid {child.process.pid})")

    def _schedule_restart(self, child: _Child, *, now: float) -> float:
        ran = now - child.started_at
        if child.delay == 0 or ran >= self.stable_after:
            child.delay = self.first_delay
        else:
            child.delay = min(child.delay * 2, self.max_delay)
        child.process = None
        child.restart_at = now + child.delay
        return child.delay


STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def supervise(
    commands: Mapping[str, Sequence[str]], *, poll_seconds: float = 0.5, **options
) -> int:
    """Run ``commands`` under a Supervisor (``options`` are its own) until SIGINT (Ctrl-C),
    SIGTERM or SIGHUP (the terminal closed: the children, in groups of their own, would not
    get it and outlive us); 0 once every child is stopped."""
    signalled = []

    def request_stop(signum, _frame):
        signalled.append(signum)

    previous = {signum: signal.signal(signum, request_stop) for signum in STOP_SIGNALS}
    try:
        Supervisor(commands, **options).run(
            stopping=lambda: bool(signalled), poll_seconds=poll_seconds
        )
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    return 0
