"""The Lightspeed sandbox's own tables: what a fake X-Series store holds."""

from django.db import models

from sandboxes.kit.models import SandboxAccessToken, SandboxAuthorizationCode


class LightspeedSandboxStore(models.Model):
    """A store (retailer): its ``domain_prefix`` names it, its personal token opens the API,
    and its registers set its request budget."""

    domain_prefix = models.CharField(max_length=63, unique=True)
    retailer_id = models.CharField(max_length=36, unique=True)
    personal_token = models.CharField(max_length=128, unique=True)
    registers = models.PositiveIntegerField(default=1)
    # Each window's budget, when set instead of Lightspeed's 300 x registers + 50.
    requests_per_window = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return self.domain_prefix


class LightspeedSandboxObject(models.Model):
    """An outlet, register, tax, product or customer as API 2.0 returns it (``data``)."""

    class Kind(models.TextChoices):
        OUTLET = "outlet"
        REGISTER = "register"
        TAX = "tax"
        PRODUCT = "product"
        CUSTOMER = "customer"
        PAYMENT_TYPE = "payment_type"

    store = models.ForeignKey(
        LightspeedSandboxStore, on_delete=models.CASCADE, related_name="objects_held"
    )
    kind = models.CharField(max_length=16, choices=Kind.choices)
    object_id = models.CharField(max_length=36)
    data = models.JSONField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["store", "kind", "object_id"], name="lightspeed_sandbox_object_unique"
            )
        ]

    def __str__(self):
        return f"{self.kind} {self.object_id}"


class LightspeedSandboxSale(models.Model):
    """A sale as API 2.0 returns it (``data``), with the columns lists filter and sort on.
    ``version`` comes from one sequence for every store, as Lightspeed's global version."""

    store = models.ForeignKey(
        LightspeedSandboxStore, on_delete=models.CASCADE, related_name="sales"
    )
    sale_id = models.CharField(max_length=36, unique=True)
    status = models.CharField(max_length=20)
    version = models.BigIntegerField(unique=True)
    sale_date = models.DateTimeField()
    updated_at = models.DateTimeField()
    outlet_id = models.CharField(max_length=36)
    return_for = models.CharField(max_length=36, blank=True)
    data = models.JSONField()

    class Meta:
        indexes = [
            models.Index(fields=["store", "version"], name="ls_sandbox_sale_version"),
            models.Index(fields=["store", "sale_date"], name="ls_sandbox_sale_date"),
        ]

    def __str__(self):
        return f"{self.sale_id} ({self.status})"


class LightspeedSandboxWebhook(models.Model):
    """A webhook the store sends, created through API 1.0's ``/api/webhooks``."""

    store = models.ForeignKey(
        LightspeedSandboxStore, on_delete=models.CASCADE, related_name="webhooks"
    )
    webhook_id = models.CharField(max_length=36, unique=True)
    url = models.URLField(max_length=2000)
    active = models.BooleanField(default=True)
    type = models.CharField(max_length=32)
    # The app that made it: webhooks of an OAuth application are signed with its secret.
    client_id = models.CharField(max_length=191, blank=True)

    def __str__(self):
        return f"{self.type} -> {self.url}"


class LightspeedSandboxAuthorizationCode(SandboxAuthorizationCode):
    account = models.ForeignKey(LightspeedSandboxStore, on_delete=models.CASCADE)


class LightspeedSandboxAccessToken(SandboxAccessToken):
    account = models.ForeignKey(LightspeedSandboxStore, on_delete=models.CASCADE)
