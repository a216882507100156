from django.db import models


class WorkerHeartbeat(models.Model):
    """The last time a worker proved it consumes a queue; /health/ reads these."""

    queue = models.CharField(max_length=32)
    hostname = models.CharField(max_length=255)
    seen_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["queue", "hostname"], name="uniq_heartbeat_queue_host")
        ]

    def __str__(self):
        return f"{self.hostname} on {self.queue}"
