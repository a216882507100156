"""A task sent to each queue runs on a real worker process that consumes only that queue."""

import time

import pytest

from taxpoynt.celery import QUEUES
from taxpoynt.ops.tasks import ping

WORKER_START_TIMEOUT = 90


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("queue", QUEUES)
def test_task_on_each_queue_runs_only_on_that_queues_worker(queue, start_worker, clean_queues):
    results = {name: ping.apply_async(queue=name) for name in QUEUES}
    hostname = start_worker(queue).hostname

    answer = results[queue].get(timeout=WORKER_START_TIMEOUT)
    assert answer == {"hostname": hostname, "queue": queue}

    # The worker is running and idle; messages for the other queues are still waiting.
    time.sleep(2)
    for other in set(QUEUES) - {queue}:
        assert results[other].state == "PENDING"
