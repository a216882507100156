"""What every family shares: the connection columns, the webhook inbox and quarantine, sync runs.

Families (pos, crm, erp) subclass ``ConnectionBase`` for their own connection table. Inbox,
quarantine and sync-run rows name their connection by (family, connection id) so one table serves
every family; nothing here switches on a platform name.
"""

import uuid

from django.conf import settings
from django.db import models

from taxpoynt.lib.fields import EncryptedTextField


class ConnectionBase(models.Model):
    """A tenant's link to one account on one platform.

    The seed's columns first (``credentials_encrypted``, ``connection_settings``, ``webhook_url``,
    ``webhook_secret``, ``is_active``, ``last_sync_at``), then what the flows need.
    """

    class Health(models.TextChoices):
        CONNECTED = "connected", "Connected"
        FAILING = "failing", "Failing"
        # The platform refused the stored credentials: the tenant must connect again.
        NEEDS_REAUTH = "needs_reauth", "Re-authorise"
        DISCONNECTED = "disconnected", "Disconnected"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    organization = models.ForeignKey(
        "accounts.Organization", on_delete=models.CASCADE, related_name="+"
    )
    # JSON of the OAuth tokens or API key; encrypted at rest.
    credentials_encrypted = EncryptedTextField()
    connection_settings = models.JSONField(null=True, blank=True)
    webhook_url = models.CharField(max_length=500, blank=True)
    # The tenant's own signing key for the per-connection endpoint; encrypted at rest.
    webhook_secret = EncryptedTextField()
    is_active = models.BooleanField(default=True)
    last_sync_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True, null=True)

    # The platform's id of the account (Square merchant, HubSpot portal): routes app webhooks.
    account_id = models.CharField(max_length=64, blank=True, db_index=True)
    base_url = models.URLField(max_length=500, blank=True)
    # The exact URL the platform signs (Square): the subscription's URL, not the request's.
    notification_url = models.CharField(max_length=500, blank=True)
    is_sandbox = models.BooleanField(default=False)
    health = models.CharField(max_length=16, choices=Health.choices, default=Health.CONNECTED)
    last_error = models.TextField(blank=True)
    token_expires_at = models.DateTimeField(null=True, blank=True)
    sync_cursor = models.CharField(max_length=500, blank=True)
    # The tenant's own name for it (two shops the platform names alike); empty: the platform's.
    display_name = models.CharField("name", max_length=100, blank=True)

    class Meta:
        abstract = True

    @property
    def name(self) -> str:
        """What the pages call it: the tenant's name, else the platform's, else the account."""
        platform_name = getattr(self, "location_name", "") or getattr(self, "connection_name", "")
        return self.display_name or platform_name or self.account_id


class InboundEvent(models.Model):
    """A verified webhook event, stored before the platform gets its 2xx.

    Unique per (family, connection, event id): a redelivery inserts nothing and queues nothing.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        PROCESSED = "processed", "Processed"
        IGNORED = "ignored", "Ignored"
        FAILED = "failed", "Failed"

    family = models.CharField(max_length=8)
    platform = models.CharField(max_length=32)
    connection_id = models.UUIDField()
    event_id = models.CharField(max_length=255)
    event_type = models.CharField(max_length=100)
    object_id = models.CharField(max_length=255, blank=True)
    # The sale or deal the event is about when the event alone says so (the connector's
    # event_subject): the task working on it settles the others of the same subject.
    subject_id = models.CharField(max_length=255, blank=True, default="")
    payload = models.JSONField()
    received_at = models.DateTimeField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "integrations_inbound_events"
        constraints = [
            models.UniqueConstraint(
                fields=["family", "connection_id", "event_id"], name="uniq_inbound_event"
            )
        ]
        indexes = [
            models.Index(
                fields=["received_at"],
                condition=models.Q(status="pending"),
                name="inbound_event_pending",
            ),
            models.Index(fields=["connection_id", "received_at"], name="inbound_event_connection"),
            # Later events still waiting about the same object (a CRM deal's supersede check).
            models.Index(
                fields=["connection_id", "object_id"],
                condition=models.Q(status="pending"),
                name="inbound_event_pending_object",
            ),
            # An event's siblings of the same sale (a condition on the value would not serve
            # prepared statements: their generic plans cannot prove it).
            models.Index(
                fields=["connection_id", "subject_id"],
                condition=models.Q(status="pending"),
                name="inbound_event_pending_subject",
            ),
        ]

    def __str__(self):
        return f"{self.platform} {self.event_type} {self.event_id}"


class QuarantinedDelivery(models.Model):
    """A webhook delivery we refused (bad signature, unknown account, malformed body, text the
    inbox cannot store).

    Kept so a secret mix-up can be diagnosed and replayed; capped per platform by
    ``WEBHOOK_QUARANTINE_CAP``. Headers are kept without their signature values. The body is
    the raw bytes (bytea holds NUL and bytes that are not UTF-8), so every refusal can be kept.
    """

    family = models.CharField(max_length=8)
    platform = models.CharField(max_length=32)
    connection_id = models.UUIDField(null=True, blank=True)
    reason = models.CharField(max_length=255)
    headers = models.JSONField(default=dict)
    body = models.BinaryField()
    body_truncated = models.BooleanField(default=False)
    received_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        db_table = "integrations_quarantined_deliveries"
        verbose_name_plural = "quarantined deliveries"

    def __str__(self):
        return f"{self.platform}: {self.reason}"


class SyncRun(models.Model):
    """One pull from a platform: a back-fill over a date range or an incremental sync."""

    class Kind(models.TextChoices):
        BACKFILL = "backfill", "Back-fill"
        INCREMENTAL = "incremental", "Incremental"

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    family = models.CharField(max_length=8)
    platform = models.CharField(max_length=32)
    connection_id = models.UUIDField(db_index=True)
    organization = models.ForeignKey(
        "accounts.Organization", on_delete=models.CASCADE, related_name="+"
    )
    kind = models.CharField(max_length=16, choices=Kind.choices)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    window_start = models.DateTimeField(null=True, blank=True)
    window_end = models.DateTimeField(null=True, blank=True)
    cursor = models.TextField(blank=True)
    pages = models.PositiveIntegerField(default=0)
    rows = models.PositiveIntegerField(default=0)
    errors = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "integrations_sync_runs"
        ordering = ["-created_at"]
        # The prune of old incremental runs.
        indexes = [models.Index(fields=["kind", "created_at"], name="sync_run_kind_created")]

    def __str__(self):
        return f"{self.platform} {self.kind} {self.status}"


class OAuthState(models.Model):
    """One connect attempt: the one-time ``state`` sent to the platform, bound to the browser
    session, organization and platform that started it, with the PKCE verifier."""

    state = models.CharField(max_length=64, unique=True)
    family = models.CharField(max_length=8)
    platform = models.CharField(max_length=32)
    organization = models.ForeignKey(
        "accounts.Organization", on_delete=models.CASCADE, related_name="+"
    )
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    session_key = models.CharField(max_length=64)
    code_verifier = EncryptedTextField()
    redirect_uri = models.CharField(max_length=500)
    base_url = models.URLField(max_length=500, blank=True)
    is_sandbox = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "integrations_oauth_states"

    def __str__(self):
        return f"{self.platform} connect for {self.organization_id}"
