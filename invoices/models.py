from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q

# --- Invoices ---------------------------------------------------------------------------------


class Invoice(models.Model):
    """One e-invoice (or credit note) for one source row: a POS transaction, a CRM deal or an
    ERP document. The pipeline moves it built → validated → signed → transmitted → confirmed
    (a B2C receipt goes from signed to confirmed: signing reports it to FIRS);
    ``stage`` is the last step done and ``status`` adds ``retrying`` and ``needs_attention``."""

    class Source(models.TextChoices):
        POS = "pos", "POS transaction"
        CRM = "crm", "CRM deal"
        ERP = "erp", "ERP document"

    class Stage(models.TextChoices):
        BUILT = "built", "Built"
        VALIDATED = "validated", "Validated"
        SIGNED = "signed", "Signed"
        TRANSMITTED = "transmitted", "Transmitted"
        CONFIRMED = "confirmed", "Confirmed"

    class Status(models.TextChoices):
        BUILT = "built", "Built"
        VALIDATED = "validated", "Validated"
        SIGNED = "signed", "Signed"
        TRANSMITTED = "transmitted", "Transmitted"
        CONFIRMED = "confirmed", "Confirmed"
        RETRYING = "retrying", "Retrying"
        NEEDS_ATTENTION = "needs_attention", "Needs attention"
        # No FIRS call is possible yet (no service id, business id or keys): no IRN either. The
        # invoice is built and queued once the organization's FIRS set-up is verified.
        WAITING_SETUP = "waiting_setup", "Waiting for FIRS set-up"

    class Kind(models.TextChoices):
        B2B = "B2B"
        B2C = "B2C"

    class PaymentStatus(models.TextChoices):
        PENDING = "PENDING"
        PAID = "PAID"
        REJECTED = "REJECTED"

    organization = models.ForeignKey(
        "accounts.Organization", on_delete=models.PROTECT, related_name="invoices"
    )
    source_type = models.CharField(max_length=3, choices=Source.choices)
    source_id = models.UUIDField()
    source_platform = models.CharField(max_length=32, blank=True)
    source_reference = models.CharField(max_length=255, blank=True)
    # When the sale or deal reached us (webhook or pull): the start of the latency we promise.
    source_received_at = models.DateTimeField(null=True, blank=True)
    # Set when the source's own queue is not the right one (back-fills run on "batch").
    pipeline_queue = models.CharField(max_length=16, blank=True)
    number = models.CharField(max_length=64)
    irn = models.CharField("IRN", max_length=100)
    type_code = models.CharField(max_length=8)
    purpose = models.CharField(max_length=16, default="invoice")
    kind = models.CharField(max_length=3, choices=Kind.choices)
    currency = models.CharField(max_length=3)
    issue_date = models.DateField()
    issue_time = models.TimeField(null=True, blank=True)
    billing_reference_irn = models.CharField(max_length=100, blank=True)
    line_extension_amount = models.DecimalField(max_digits=18, decimal_places=2, default=0)
    tax_exclusive_amount = models.DecimalField(max_digits=18, decimal_places=2, default=0)
    tax_amount = models.DecimalField(max_digits=18, decimal_places=2, default=0)
    tax_inclusive_amount = models.DecimalField(max_digits=18, decimal_places=2, default=0)
    payable_amount = models.DecimalField(max_digits=18, decimal_places=2, default=0)
    payload = models.JSONField(default=dict, help_text="The FIRS invoice JSON, as sent.")
    stage = models.CharField(max_length=12, choices=Stage.choices, default=Stage.BUILT)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.BUILT)
    payment_status = models.CharField(
        max_length=8, choices=PaymentStatus.choices, default=PaymentStatus.PENDING
    )
    problems = models.JSONField(default=list, blank=True, help_text="What stops this invoice.")
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    claimed_until = models.DateTimeField(null=True, blank=True)
    claim_token = models.CharField(max_length=64, blank=True)
    sign_attempted_at = models.DateTimeField(null=True, blank=True)
    qr_stamp = models.TextField(blank=True)
    sign_response = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    validated_at = models.DateTimeField(null=True, blank=True)
    signed_at = models.DateTimeField(null=True, blank=True)
    transmitted_at = models.DateTimeField(null=True, blank=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    paid_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            # A source row becomes at most one invoice.
            models.UniqueConstraint(
                fields=["organization", "source_type", "source_id"], name="uniq_invoice_source"
            ),
            # An invoice waiting for FIRS set-up has no IRN yet.
            models.UniqueConstraint(
                fields=["organization", "irn"], condition=~Q(irn=""), name="uniq_invoice_irn"
            ),
        ]
        indexes = [
            models.Index(fields=["organization", "status", "-created_at"]),
            models.Index(fields=["status", "updated_at"]),
        ]
        ordering = ["-id"]

    def __str__(self):
        return self.irn

    @property
    def queue(self) -> str:
        """POS invoices ride the realtime queue end to end, the rest the standard one, unless the
        invoice was made by a back-fill: then it stays on ``batch``, retries included."""
        if self.pipeline_queue:
            return self.pipeline_queue
        return "realtime" if self.source_type == self.Source.POS else "standard"

    @property
    def is_credit_note(self) -> bool:
        return self.purpose == "credit_note"

    @property
    def signed_payable_amount(self):
        """The payable amount as it counts in the sales: negative for a credit note (a refund),
        whose own amounts are positive as FIRS requires."""
        return -self.payable_amount if self.is_credit_note else self.payable_amount

    @property
    def is_final(self) -> bool:
        return self.status in (self.Status.CONFIRMED, self.Status.NEEDS_ATTENTION)


class InvoiceNumberSequence(models.Model):
    """An organization's invoice-number counter: its invoices are numbered ``{prefix}-{n}``
    (``TXP-000123``), n counting up with no gaps. The IRN keeps the number's letters and
    digits only, as FIRS requires (``TXP000123-{service id}-{date}``). Created with the
    organization's first invoice; invoices numbered before it keep their numbers."""

    organization = models.OneToOneField(
        "accounts.Organization",
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="invoice_number_sequence",
    )
    prefix = models.CharField(
        max_length=8,
        default="TXP",
        validators=[
            RegexValidator(
                r"^[A-Z0-9]{1,8}$",
                "Up to 8 capital letters or digits: FIRS allows nothing else in an IRN.",
            )
        ],
        help_text="Starts every new invoice number; numbers already given keep theirs.",
    )
    last_value = models.PositiveBigIntegerField(
        default=0, help_text="The sequence number of the last invoice numbered."
    )

    class Meta:
        # services.invoice_number_allocate names the table in its SQL.
        db_table = "invoice_number_sequences"

    def __str__(self):
        return f"{self.prefix}-… ({self.last_value} numbered)"


class InvoiceParty(models.Model):
    class Role(models.TextChoices):
        SUPPLIER = "supplier"
        CUSTOMER = "customer"

    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="parties")
    role = models.CharField(max_length=8, choices=Role.choices)
    name = models.CharField(max_length=255)
    tin = models.CharField(max_length=20, blank=True)
    email = models.CharField(max_length=254, blank=True)
    telephone = models.CharField(max_length=20, blank=True)
    address = models.JSONField(default=dict, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["invoice", "role"], name="uniq_party_role")]

    def __str__(self):
        return f"{self.role}: {self.name}"


class InvoiceLine(models.Model):
    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="lines")
    position = models.PositiveSmallIntegerField()
    name = models.CharField(max_length=255)
    hs_code = models.CharField(max_length=20, blank=True)
    quantity = models.DecimalField(max_digits=18, decimal_places=4)
    price_amount = models.DecimalField(max_digits=24, decimal_places=10)
    line_extension_amount = models.DecimalField(max_digits=18, decimal_places=2)
    # The tax the platform charged on the line; null when it said nothing (then computed).
    tax_amount = models.DecimalField(max_digits=18, decimal_places=2, null=True, blank=True)

    class Meta:
        ordering = ["invoice_id", "position"]

    def __str__(self):
        return self.name


class InvoiceTaxSubtotal(models.Model):
    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="tax_subtotals")
    category = models.CharField(max_length=32)
    percent = models.DecimalField(max_digits=6, decimal_places=2)
    taxable_amount = models.DecimalField(max_digits=18, decimal_places=2)
    tax_amount = models.DecimalField(max_digits=18, decimal_places=2)

    def __str__(self):
        return f"{self.category} {self.percent}%"


class InvoiceStatusChange(models.Model):
    """Append-only history of an invoice's status."""

    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="history")
    from_status = models.CharField(max_length=16, blank=True)
    to_status = models.CharField(max_length=16)
    note = models.TextField(blank=True)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["invoice_id", "id"]

    def __str__(self):
        return f"{self.from_status or '∅'} → {self.to_status}"


class InvoiceEmail(models.Model):
    """An invoice (or receipt) e-mailed to its buyer: who sent it, to which address, when."""

    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="emails")
    to = models.EmailField()
    sent_by = models.ForeignKey(
        "accounts.User", on_delete=models.SET_NULL, null=True, related_name="+"
    )
    sent_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["invoice_id", "-sent_at"]

    def __str__(self):
        return f"{self.invoice} to {self.to}"


class FirsExchange(models.Model):
    """One call to FIRS about an invoice and what came back, for operators and audits."""

    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="exchanges")
    operation = models.CharField(max_length=32)
    http_status = models.PositiveSmallIntegerField(null=True, blank=True)
    ok = models.BooleanField()
    response = models.JSONField(null=True, blank=True)
    error = models.TextField(blank=True)
    duration_ms = models.PositiveIntegerField(default=0)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["invoice_id", "id"]

    def __str__(self):
        return f"{self.operation} {'ok' if self.ok else 'failed'}"


class FirsCodeListEntry(models.Model):
    """One entry of a FIRS code list (``/api/v1/invoice/resources/<resource>``), refreshed by beat
    from FIRS and seeded from the bundled snapshot so a fresh install works offline."""

    resource = models.CharField(max_length=32)
    code = models.CharField(max_length=64)
    data = models.JSONField()
    refreshed_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["resource", "code"], name="uniq_code_list_entry")
        ]
        ordering = ["resource", "code"]

    def __str__(self):
        return f"{self.resource}: {self.code}"
