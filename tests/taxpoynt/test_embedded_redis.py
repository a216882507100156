"""The embedded Redis (no REDIS_URL): started once, found again by later processes, keeps the
broker's messages across a restart, and is what settings point the broker and cache at."""

import json
import os
import signal
import subprocess
import time

import psutil
import pytest
import redis

from taxpoynt.lib.embedded_redis import embedded_redis, embedded_redis_stop

START = "import sys; from pathlib import Path; from taxpoynt.lib.embedded_redis import " + (
    "embedded_redis; print(embedded_redis(Path(sys.argv[1])).socket_path)"
)


@pytest.fixture
def data_dir(tmp_path):
    path = tmp_path / "redis"
    yield path
    embedded_redis_stop(path)


def _pid(data_dir) -> int:
    return int((data_dir / "redis.pid").read_text())


def _gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def _client(server) -> redis.Redis:
    return redis.Redis.from_url(server.cache_url)


def _servers_of(data_dir) -> list[psutil.Process]:
    """The redis-server processes working in ``data_dir`` (Redis moves into its data folder)."""
    servers = []
    for process in psutil.process_iter(["name"]):
        try:
            if process.info["name"] == "redis-server" and process.cwd() == str(data_dir):
                servers.append(process)
        except psutil.Error:
            continue
    return servers


def test_a_second_call_finds_the_running_server(data_dir):
    first = embedded_redis(data_dir)
    pid = _pid(data_dir)
    _client(first).set("left", "here")

    second = embedded_redis(data_dir)

    assert second == first
    assert _pid(data_dir) == pid
    assert _client(second).get("left") == b"here"


def test_the_server_outlives_the_process_that_started_it(data_dir, process_env, python_bin):
    started = subprocess.run(
        [python_bin, "-c", START, str(data_dir)],
        env=process_env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    pid = _pid(data_dir)

    server = embedded_redis(data_dir)

    assert str(server.socket_path) == started.stdout.strip()
    assert _pid(data_dir) == pid
    assert _client(server).ping()


def test_processes_starting_together_share_one_server(data_dir, process_env, python_bin):
    starters = [
        subprocess.Popen(
            [python_bin, "-c", START, str(data_dir)], env=process_env(), stdout=subprocess.PIPE
        )
        for _ in range(4)
    ]
    for starter in starters:
        starter.wait(timeout=60)
        assert starter.returncode == 0

    assert len(_servers_of(data_dir)) == 1


def test_queued_messages_survive_a_killed_server(data_dir):
    server = embedded_redis(data_dir)
    _client(server).lpush("realtime", "a queued task")
    pid = _pid(data_dir)
    os.kill(pid, signal.SIGKILL)
    while not _gone(pid):
        time.sleep(0.05)

    restarted = embedded_redis(data_dir)

    assert _pid(data_dir) != pid
    assert _client(restarted).lrange("realtime", 0, -1) == [b"a queued task"]


def test_stop_ends_the_server_and_a_later_call_starts_it_again(data_dir):
    embedded_redis(data_dir)
    pid = _pid(data_dir)

    assert embedded_redis_stop(data_dir)
    assert not psutil.pid_exists(pid)
    assert not embedded_redis_stop(data_dir)

    assert _client(embedded_redis(data_dir)).ping()


SETTINGS = (
    "import json, django; django.setup(); from django.conf import settings; "
    "from django.core.cache import cache; cache.set('probe', 1); print(json.dumps({"
    "'broker': settings.CELERY_BROKER_URL, 'results': settings.CELERY_RESULT_BACKEND, "
    "'cache': settings.CACHES['default']['LOCATION'], 'probe': cache.get('probe')}))"
)


def test_settings_without_redis_url_use_the_embedded_server(process_env, python_bin):
    from django.conf import settings

    server = embedded_redis(settings.VAR_DIR / "redis")

    # Empty, not absent: a REDIS_URL in .env must not fill it in.
    result = subprocess.run(
        [python_bin, "-c", SETTINGS],
        env=process_env(DJANGO_SETTINGS_MODULE="taxpoynt.settings.development", REDIS_URL=""),
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.splitlines()[-1]) == {
        "broker": server.broker_url,
        "results": server.broker_url,
        "cache": server.cache_url,
        "probe": 1,
    }
