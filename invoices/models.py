import hashlib
import hmac

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

# --- FIRS MBS sandbox state -------------------------------------------------------------------
# Everything named FirsSandbox... belongs to the sandbox in invoices/firs/sandbox.py, which plays
# FIRS for development, demos and tests. The real invoice models are separate from these.


def _secret_digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


class FirsSandboxCredential(models.Model):
    """An API key and secret the sandbox accepts, with the counters tests and benchmarks read.

    Only a digest of the secret is stored, as a real server would, so the tenant's secret (kept
    encrypted on the Organization) never sits in clear text in the database.
    """

    api_key = models.CharField(max_length=100, unique=True)
    api_secret_digest = models.CharField(max_length=64, editable=False)
    label = models.CharField(max_length=100, blank=True)
    business_id = models.UUIDField(
        null=True, blank=True, help_text="When set, invoices must name this business."
    )
    service_id = models.CharField(
        max_length=8, blank=True, help_text="When set, IRNs must carry this service id."
    )
    accepted_irns = models.PositiveIntegerField(default=0, editable=False)
    duplicate_submissions = models.PositiveIntegerField(default=0, editable=False)
    dropped_replies = models.PositiveIntegerField(default=0, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    def __str__(self):
        return self.label or f"FIRS sandbox key …{self.api_key[-4:]}"

    def set_secret(self, secret: str) -> None:
        self.api_secret_digest = _secret_digest(secret)

    def secret_matches(self, secret: str) -> bool:
        return hmac.compare_digest(self.api_secret_digest, _secret_digest(secret))


class FirsSandboxInvoice(models.Model):
    """An invoice the sandbox has seen, one per (API key, IRN)."""

    class Status(models.TextChoices):
        VALIDATED = "validated", "Validated (not registered)"
        SIGNED = "signed", "Signed"
        TRANSMITTED = "transmitted", "Transmitted"
        CONFIRMED = "confirmed", "Receipt confirmed by the buyer"

    class PaymentStatus(models.TextChoices):
        PENDING = "PENDING"
        PAID = "PAID"
        REJECTED = "REJECTED"

    credential = models.ForeignKey(
        FirsSandboxCredential, on_delete=models.CASCADE, related_name="invoices"
    )
    irn = models.CharField("IRN", max_length=100)
    business_id = models.UUIDField()
    payload = models.JSONField()
    status = models.CharField(max_length=12, choices=Status.choices)
    payment_status = models.CharField(
        max_length=8, choices=PaymentStatus.choices, default=PaymentStatus.PENDING
    )
    payment_reference = models.CharField(max_length=255, blank=True)
    validated_at = models.DateTimeField(null=True, blank=True)
    signed_at = models.DateTimeField(null=True, blank=True)
    transmitted_at = models.DateTimeField(null=True, blank=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["credential", "irn"], name="uniq_firs_sandbox_invoice_irn"
            )
        ]
        ordering = ["id"]

    def __str__(self):
        return f"{self.irn} ({self.status})"

    @property
    def is_registered(self) -> bool:
        """Signed, i.e. submitted to FIRS; a validated-only invoice is not registered."""
        return self.status != self.Status.VALIDATED


# A probability from 0 to 1.
RATE_VALIDATORS = [MinValueValidator(0), MaxValueValidator(1)]


class FirsSandboxFaults(models.Model):
    """The sandbox's fault switches: one row, read by every process (cached for a moment).

    Each rate is drawn independently for each request.
    """

    class DroppedReply(models.TextChoices):
        CLOSE = "close", "Close the connection without a reply"
        GATEWAY_TIMEOUT = "gateway_timeout", "Answer 504 as a gateway would"

    latency_ms = models.PositiveIntegerField(default=0)
    latency_jitter_ms = models.PositiveIntegerField(
        default=0, help_text="Each request waits latency ± a uniform draw up to this."
    )
    server_error_rate = models.FloatField(default=0, validators=RATE_VALIDATORS)
    server_error_status = models.PositiveSmallIntegerField(
        default=503, validators=[MinValueValidator(500), MaxValueValidator(599)]
    )
    rate_limit_rate = models.FloatField(
        default=0, validators=RATE_VALIDATORS, help_text="429 with Retry-After."
    )
    retry_after_seconds = models.PositiveIntegerField(default=1)
    retry_after_as_http_date = models.BooleanField(
        default=False, help_text="Send Retry-After as an HTTP date instead of seconds."
    )
    busy_rate = models.FloatField(
        default=0,
        validators=RATE_VALIDATORS,
        help_text="FIRS's transient 400: 'unable to complete … try again later'.",
    )
    dropped_reply_rate = models.FloatField(
        default=0,
        validators=RATE_VALIDATORS,
        help_text="Do the work and commit it, then lose the reply.",
    )
    dropped_reply_as = models.CharField(
        max_length=16, choices=DroppedReply.choices, default=DroppedReply.CLOSE
    )
    ambiguous_duplicates = models.BooleanField(
        default=False,
        help_text="Answer a duplicate IRN like the busy 400, without the field error that "
        "names the IRN (one integrator documents MBS doing exactly this).",
    )
    only_operations = models.CharField(
        max_length=255,
        blank=True,
        help_text="Comma-separated operations the faults apply to, as FirsClient names them "
        "(e.g. 'sign,transmit'); empty means all.",
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "FIRS sandbox faults"

    def __str__(self):
        return "FIRS sandbox faults"

    def operations(self) -> set[str]:
        return {name.strip() for name in self.only_operations.split(",") if name.strip()}

    def applies_to(self, operation: str) -> bool:
        names = self.operations()
        return not names or operation in names


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
            models.UniqueConstraint(fields=["organization", "irn"], name="uniq_invoice_irn"),
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
    def is_final(self) -> bool:
        return self.status in (self.Status.CONFIRMED, self.Status.NEEDS_ATTENTION)


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
