"""What each item a tenant sells is, for tax: its HS code, category and VAT treatment."""

from django.db import models


class ProductClassification(models.Model):
    """One item of one platform, as the tenant classified it.

    ``item_key`` is the platform's catalog id of the item, else its name. Items are added
    unclassified when first seen in a sale; the classification describes the item on invoices
    and is what the tax charged on it is checked against, never what that tax is.
    """

    class VatTreatment(models.TextChoices):
        UNCLASSIFIED = "unclassified", "Not classified yet"
        STANDARD = "standard", "Standard rate (7.5 %)"
        EXEMPT = "exempt", "VAT-exempt"

    organization = models.ForeignKey(
        "accounts.Organization", on_delete=models.CASCADE, related_name="product_classifications"
    )
    platform = models.CharField(max_length=32)
    item_key = models.CharField(max_length=255)
    name = models.CharField(max_length=255)
    hs_code = models.CharField(max_length=20, blank=True, verbose_name="HS code")
    product_category = models.CharField(max_length=255, blank=True)
    vat_treatment = models.CharField(
        max_length=16, choices=VatTreatment.choices, default=VatTreatment.UNCLASSIFIED
    )
    first_seen_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "platform", "item_key"], name="uniq_classification_item"
            )
        ]
        ordering = ["organization_id", "name"]

    def __str__(self):
        return f"{self.name} ({self.platform})"

    @property
    def is_classified(self) -> bool:
        return self.vat_treatment != self.VatTreatment.UNCLASSIFIED


class TaxAlert(models.Model):
    """Sales of an item whose charged tax disagrees with its classification: one per item and
    kind, counted, never one per sale."""

    class Kind(models.TextChoices):
        VAT_ON_EXEMPT = "vat_on_exempt", "VAT charged on a VAT-exempt item"
        NO_VAT_ON_STANDARD = "no_vat_on_standard", "No VAT charged on a standard-rated item"
        OTHER_RATE = "other_rate", "Tax charged at a rate other than 7.5 %"

    organization = models.ForeignKey(
        "accounts.Organization", on_delete=models.CASCADE, related_name="tax_alerts"
    )
    classification = models.ForeignKey(
        ProductClassification, on_delete=models.CASCADE, related_name="alerts"
    )
    kind = models.CharField(max_length=24, choices=Kind.choices)
    count = models.PositiveIntegerField(default=0)
    first_seen_at = models.DateTimeField(auto_now_add=True)
    last_seen_at = models.DateTimeField()
    last_source_reference = models.CharField(max_length=255, blank=True)
    # The rate last charged, for an alert of a rate other than the standard one.
    last_tax_rate = models.DecimalField(max_digits=7, decimal_places=4, null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["classification", "kind"], name="uniq_tax_alert_kind")
        ]
        ordering = ["-last_seen_at"]

    def __str__(self):
        return f"{self.get_kind_display()}: {self.classification.name}"
