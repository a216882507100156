"""The FIRS sandbox's own tables: the keys it accepts, the invoices it has seen, its faults."""

import hashlib
import hmac

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models


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
    ambiguous_duplicates = models.BooleanField(
        default=False,
        help_text="Answer a duplicate IRN like the busy 400, without the field error that "
        "names the IRN (one integrator documents MBS doing exactly this).",
    )
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
