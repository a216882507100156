"""ERP connections and documents (tables ``erp_connections`` and ``erp_documents``).

The seed's columns come first on each model, then what the flow needs: a document's kind
(invoice or credit note), whether the ERP has posted it (only posted documents are invoiced),
its own taxes, and its status and timings.
"""

import uuid

from django.db import models

from integrations.base.models import ConnectionBase


class ERPConnection(ConnectionBase):
    erp_type = models.CharField("platform", max_length=32)
    connection_name = models.CharField(max_length=255, blank=True)
    # Minutes between incremental syncs (an ERP may send no webhooks); 0 turns the schedule off.
    sync_every_minutes = models.PositiveSmallIntegerField(default=5)

    class Meta:
        db_table = "erp_connections"
        verbose_name = "ERP connection"
        indexes = [
            models.Index(fields=["erp_type"], name="idx_erp_connections_erp_type"),
        ]

    family = "erp"
    # The seed names the platform column per family; shared code finds it here.
    platform_field = "erp_type"

    @property
    def platform(self) -> str:
        return self.erp_type

    def __str__(self):
        return f"{self.erp_type}: {self.connection_name or self.account_id or self.id}"


class ERPDocument(models.Model):
    class Kind(models.TextChoices):
        INVOICE = "invoice", "Invoice"
        CREDIT_NOTE = "credit_note", "Credit note"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        INVOICED = "invoiced", "Invoiced"
        NOT_POSTED = "not_posted", "Not posted"
        FAILED = "failed", "Failed"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    connection = models.ForeignKey(
        ERPConnection, on_delete=models.CASCADE, related_name="documents"
    )
    external_document_id = models.CharField(max_length=255)
    document_number = models.CharField(max_length=100, blank=True)
    total_amount = models.DecimalField(max_digits=15, decimal_places=2, null=True)
    tax_amount = models.DecimalField(max_digits=15, decimal_places=2, null=True)
    customer_data = models.JSONField(null=True, blank=True)
    document_date = models.DateTimeField()
    invoice_generated = models.BooleanField(default=False)
    invoice = models.ForeignKey(
        "invoices.Invoice", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    processing_errors = models.JSONField(null=True, blank=True)
    document_metadata = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True, null=True)

    document_kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.INVOICE)
    # Only a posted document is invoiced; the ERP's own word for its state is kept beside it.
    is_posted = models.BooleanField(default=False)
    document_state = models.CharField(max_length=32, blank=True)
    # For a credit note: the ERP's id of the invoice it corrects.
    original_external_id = models.CharField(max_length=255, blank=True)
    buyer_name = models.CharField(max_length=255, blank=True)
    buyer_tin = models.CharField(max_length=32, blank=True)
    currency = models.CharField(max_length=3, default="NGN")
    line_items = models.JSONField(default=list, blank=True)
    # The document's own tax subtotals (rate, taxable, tax), as the ERP booked them.
    taxes = models.JSONField(default=list, blank=True)
    # The ERP's last-modified time of the version stored: an older one never overwrites it.
    last_modified_at = models.DateTimeField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    received_at = models.DateTimeField()
    invoiced_at = models.DateTimeField(null=True, blank=True)
    signed_at = models.DateTimeField(null=True, blank=True)
    # The IRN and QR code put on the ERP's own document (where the platform takes them): when,
    # and why the last try failed. Never holds the invoice back.
    irn_written_at = models.DateTimeField(null=True, blank=True)
    irn_write_back_error = models.TextField(blank=True)
    # When the ERP first said the document is paid; the payment is then reported to FIRS on
    # its invoice (``Invoice.payment_status``), and why the last report failed is kept here.
    paid_in_erp_at = models.DateTimeField(null=True, blank=True)
    payment_report_error = models.TextField(blank=True)

    class Meta:
        db_table = "erp_documents"
        verbose_name = "ERP document"
        constraints = [
            models.UniqueConstraint(
                fields=["connection", "external_document_id"], name="uniq_erp_document_external"
            )
        ]
        indexes = [
            models.Index(fields=["connection", "-received_at"], name="idx_erp_doc_conn_received"),
            models.Index(fields=["status", "-received_at"], name="idx_erp_doc_status"),
            models.Index(fields=["document_number"], name="idx_erp_doc_number"),
            models.Index(
                fields=["received_at"],
                condition=models.Q(is_posted=True, invoice__isnull=True),
                name="idx_erp_doc_posted_uninvoiced",
            ),
        ]

    def __str__(self):
        number = self.document_number or self.external_document_id
        return f"{self.get_document_kind_display()} {number}"
