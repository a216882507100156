import logging

from celery.signals import worker_ready

from taxpoynt.ops import services

logger = logging.getLogger(__name__)


@worker_ready.connect
def record_queues_on_start(sender, **kwargs):
    # So /health/ turns green as soon as a worker is up, not only after the first beat tick.
    # A database hiccup here must not stop the worker: the periodic heartbeat catches up.
    try:
        for queue in sender.task_consumer.queues:
            services.heartbeat_record(queue=queue.name, hostname=sender.hostname)
    except Exception:
        logger.exception("Could not record the worker's queues at start-up")
