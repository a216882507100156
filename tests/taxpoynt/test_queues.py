"""A task sent to each queue runs on a real worker process that consumes only that queue."""

import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from taxpoynt.celery import QUEUES
from taxpoynt.celery import app as celery_app
from taxpoynt.ops.tasks import ping

WORKER_START_TIMEOUT = 90


@pytest.fixture
def start_worker(process_env):
    started = []

    def start(queue):
        hostname = f"{queue}-{uuid.uuid4().hex[:8]}@test"
        process = subprocess.Popen(
            [
                str(Path(sys.executable).parent / "celery"),
                "-A",
                "taxpoynt",
                "worker",
                "--queues",
                queue,
                "--hostname",
                hostname,
                "--concurrency",
                "1",
                "--pool",
                "prefork",
                "--loglevel",
                "INFO",
                "--without-gossip",
                "--without-mingle",
            ],
            env=process_env(),
        )
        started.append(process)
        return hostname

    yield start
    for process in started:
        process.terminate()
    for process in started:
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.fixture
def clean_queues():
    celery_app.control.purge()
    yield
    celery_app.control.purge()


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("queue", QUEUES)
def test_task_on_each_queue_runs_only_on_that_queues_worker(queue, start_worker, clean_queues):
    results = {name: ping.apply_async(queue=name) for name in QUEUES}
    hostname = start_worker(queue)

    answer = results[queue].get(timeout=WORKER_START_TIMEOUT)
    assert answer == {"hostname": hostname, "queue": queue}

    # The worker is running and idle; messages for the other queues are still waiting.
    time.sleep(2)
    for other in set(QUEUES) - {queue}:
        assert results[other].state == "PENDING"
