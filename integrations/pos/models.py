"""POS connections and transactions (tables ``pos_connections`` and ``pos_transactions``).

``pos_transactions`` is range-partitioned by month on ``transaction_timestamp`` (migration 0002:
the database's primary key is (id, transaction_timestamp); Django keeps ``id`` as its primary key
so the admin can manage the rows). The seed's columns come first on each model.
"""

import uuid

from django.db import models

from integrations.base.models import ConnectionBase

TRANSACTIONS_TABLE = "pos_transactions"
TRANSACTIONS_PARTITION_COLUMN = "transaction_timestamp"


class POSConnection(ConnectionBase):
    pos_type = models.CharField("platform", max_length=32)
    location_name = models.CharField(max_length=255, blank=True)
    # The platform's location the connection takes sales from; empty means every location.
    external_location_id = models.CharField(max_length=64, blank=True)
    # How often the platform is polled for sales whose webhook never came; 0: never (a
    # platform whose connector cannot be polled). A new connection takes its platform's
    # ``connection_defaults``.
    sync_every_minutes = models.PositiveSmallIntegerField(default=0)

    class Meta:
        db_table = "pos_connections"
        verbose_name = "POS connection"
        indexes = [
            models.Index(fields=["pos_type"], name="idx_pos_connections_pos_type"),
        ]

    family = "pos"
    # The seed names the platform column per family; shared code finds it here.
    platform_field = "pos_type"

    @property
    def platform(self) -> str:
        return self.pos_type

    def __str__(self):
        return f"{self.pos_type}: {self.location_name or self.account_id or self.id}"


class POSTransaction(models.Model):
    class Kind(models.TextChoices):
        SALE = "sale", "Sale"
        REFUND = "refund", "Refund"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        INVOICED = "invoiced", "Invoiced"
        FAILED = "failed", "Failed"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    connection = models.ForeignKey(
        POSConnection, on_delete=models.CASCADE, related_name="transactions"
    )
    external_transaction_id = models.CharField(max_length=255)
    transaction_amount = models.DecimalField(max_digits=15, decimal_places=2, null=True)
    tax_amount = models.DecimalField(max_digits=15, decimal_places=2, null=True)
    items = models.JSONField(null=True, blank=True)
    customer_data = models.JSONField(null=True, blank=True)
    transaction_timestamp = models.DateTimeField()
    invoice_generated = models.BooleanField(default=False)
    invoice_transmitted = models.BooleanField(default=False)
    invoice = models.ForeignKey(
        "invoices.Invoice", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    processing_errors = models.JSONField(null=True, blank=True)
    transaction_metadata = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True, null=True)

    kind = models.CharField(max_length=8, choices=Kind.choices, default=Kind.SALE)
    currency = models.CharField(max_length=3, default="NGN")
    external_location_id = models.CharField(max_length=64, blank=True)
    # For a refund: the platform's id of the sale it refunds.
    original_external_id = models.CharField(max_length=255, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    received_at = models.DateTimeField()
    invoiced_at = models.DateTimeField(null=True, blank=True)
    signed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = TRANSACTIONS_TABLE
        verbose_name = "POS transaction"
        constraints = [
            models.UniqueConstraint(
                fields=["connection", "external_transaction_id", "transaction_timestamp"],
                name="uniq_pos_transaction_external",
            )
        ]
        indexes = [
            models.Index(
                fields=["connection", "transaction_timestamp"],
                name="idx_pos_tx_conn_timestamp",
            ),
            models.Index(fields=["external_transaction_id"], name="idx_pos_tx_external_id"),
            models.Index(
                fields=["connection", "invoice_generated", "invoice_transmitted"],
                name="idx_pos_tx_invoice_status",
            ),
            models.Index(
                fields=["received_at"],
                condition=models.Q(status="pending"),
                name="idx_pos_tx_pending",
            ),
        ]

    def __str__(self):
        return f"{self.kind} {self.external_transaction_id}"

    @property
    def sales_amount(self):
        """The amount as it counts in the sales: negative for a refund (the platform may report
        it either way)."""
        if self.transaction_amount is None or self.kind != self.Kind.REFUND:
            return self.transaction_amount
        return -abs(self.transaction_amount)
