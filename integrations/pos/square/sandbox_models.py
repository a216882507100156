"""The Square sandbox's own tables (app label ``pos``): what a fake Square seller holds."""

from django.db import models


class SquareSandboxMerchant(models.Model):
    """A Square sandbox seller: its access token opens the sandbox's /v2 endpoints."""

    merchant_id = models.CharField(max_length=64, unique=True)
    access_token = models.CharField(max_length=128, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return self.merchant_id


class SquareSandboxLocation(models.Model):
    merchant = models.ForeignKey(
        SquareSandboxMerchant, on_delete=models.CASCADE, related_name="locations"
    )
    location_id = models.CharField(max_length=64, unique=True)
    name = models.CharField(max_length=255)
    currency = models.CharField(max_length=3, default="NGN")
    country = models.CharField(max_length=2, default="NG")

    def __str__(self):
        return f"{self.name} ({self.location_id})"


class SquareSandboxOrder(models.Model):
    """An order as Square returns it (``data``), with the columns searches filter on."""

    merchant = models.ForeignKey(
        SquareSandboxMerchant, on_delete=models.CASCADE, related_name="orders"
    )
    order_id = models.CharField(max_length=64, unique=True)
    location_id = models.CharField(max_length=64)
    # Square keeps a CreateOrder idempotency key per seller: a repeat returns the same order.
    idempotency_key = models.CharField(max_length=192, blank=True)
    state = models.CharField(max_length=16)
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    data = models.JSONField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["merchant", "idempotency_key"],
                condition=~models.Q(idempotency_key=""),
                name="square_sandbox_order_idempotency",
            )
        ]

    def __str__(self):
        return f"{self.order_id} ({self.state})"
