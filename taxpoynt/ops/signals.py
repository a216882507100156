from celery.signals import worker_ready

from taxpoynt.ops import services


@worker_ready.connect
def record_queues_on_start(sender, **kwargs):
    # So /health/ turns green as soon as a worker is up, not only after the first beat tick.
    consumer = sender
    for queue in consumer.task_consumer.queues:
        services.heartbeat_record(queue=queue.name, hostname=consumer.hostname)
