import socket

from celery import shared_task

from taxpoynt.ops import services


@shared_task(bind=True, acks_late=False, ignore_result=True)
def worker_heartbeat(self):
    services.heartbeat_record(
        queue=self.request.delivery_info.get("routing_key") or "",
        hostname=self.request.hostname or socket.gethostname(),
    )


@shared_task(bind=True, ignore_result=False)
def ping(self):
    """Say which worker and queue ran it; used by the queue routing tests and by operators."""
    return {
        "hostname": self.request.hostname,
        "queue": self.request.delivery_info.get("routing_key"),
    }
