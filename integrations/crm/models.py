"""CRM connections and deals (tables ``crm_connections`` and ``crm_deals``).

The seed's columns come first on each model, then what the flow needs: which stages mean won,
where the buyer's TIN is kept, the sync schedule, and a deal's status and timings.
"""

import uuid

from django.db import models

from integrations.base.models import ConnectionBase


class CRMConnection(ConnectionBase):
    crm_type = models.CharField("platform", max_length=32)
    connection_name = models.CharField(max_length=255, blank=True)

    # Stage ids that mean closed won (per account; chosen from the platform's pipelines). Empty
    # until chosen: the platform's own closed-won stages are filled in on first use.
    won_stage_ids = models.JSONField(default=list, blank=True)
    # The pipelines whose deals are invoiced; empty means every pipeline.
    pipeline_ids = models.JSONField(default=list, blank=True)
    # The company property that holds the buyer's TIN.
    tin_property = models.CharField("company TIN property", max_length=100, default="tin")
    # Minutes between incremental syncs; 0 turns the scheduled sync off (webhooks only).
    sync_every_minutes = models.PositiveSmallIntegerField(default=1)
    # The platform's names of its pipelines and stages (id -> label), kept from the last read of
    # its pipelines so that pages name them without asking the platform.
    pipeline_labels = models.JSONField(default=dict, blank=True)
    stage_labels = models.JSONField(default=dict, blank=True)

    class Meta:
        db_table = "crm_connections"
        verbose_name = "CRM connection"
        indexes = [
            models.Index(fields=["crm_type"], name="idx_crm_connections_crm_type"),
        ]

    family = "crm"
    # The seed names the platform column per family; shared code finds it here.
    platform_field = "crm_type"

    @property
    def platform(self) -> str:
        return self.crm_type

    def __str__(self):
        return f"{self.crm_type}: {self.connection_name or self.account_id or self.id}"


class CRMDeal(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        INVOICED = "invoiced", "Invoiced"
        NOT_WON = "not_won", "Not won"
        FAILED = "failed", "Failed"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    connection = models.ForeignKey(CRMConnection, on_delete=models.CASCADE, related_name="deals")
    external_deal_id = models.CharField(max_length=255)
    deal_title = models.CharField(max_length=255, blank=True)
    deal_amount = models.DecimalField(max_digits=15, decimal_places=2, null=True)
    customer_data = models.JSONField(null=True, blank=True)
    deal_stage = models.CharField(max_length=100, blank=True)
    expected_close_date = models.DateTimeField(null=True, blank=True)
    invoice_generated = models.BooleanField(default=False)
    invoice = models.ForeignKey(
        "invoices.Invoice", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    deal_metadata = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True, null=True)

    pipeline_id = models.CharField(max_length=100, blank=True)
    is_won = models.BooleanField(default=False)
    buyer_name = models.CharField(max_length=255, blank=True)
    buyer_tin = models.CharField(max_length=32, blank=True)
    currency = models.CharField(max_length=3, default="NGN")
    line_items = models.JSONField(default=list, blank=True)
    # The platform's last-modified time of the version stored: an older one never overwrites it.
    last_modified_at = models.DateTimeField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    processing_errors = models.JSONField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    received_at = models.DateTimeField()
    invoiced_at = models.DateTimeField(null=True, blank=True)
    signed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "crm_deals"
        verbose_name = "CRM deal"
        constraints = [
            models.UniqueConstraint(
                fields=["connection", "external_deal_id"], name="uniq_crm_deal_external"
            )
        ]
        indexes = [
            models.Index(fields=["connection", "-received_at"], name="idx_crm_deal_conn_received"),
            models.Index(fields=["status", "-received_at"], name="idx_crm_deal_status"),
            models.Index(fields=["deal_stage"], name="idx_crm_deal_stage"),
            models.Index(
                fields=["received_at"],
                condition=models.Q(is_won=True, invoice__isnull=True),
                name="idx_crm_deal_won_uninvoiced",
            ),
        ]

    def __str__(self):
        return f"{self.deal_title or 'deal'} {self.external_deal_id}"

    @property
    def stage_label(self) -> str:
        """The stage's name on the platform, when its pipelines have been read."""
        return self.connection.stage_labels.get(self.deal_stage, "")

    @property
    def pipeline_label(self) -> str:
        return self.connection.pipeline_labels.get(self.pipeline_id, "")
