"""The Square sandbox's own tables: what a fake Square seller holds."""

from django.db import models

from sandboxes.kit.models import SandboxAccessToken, SandboxAuthorizationCode


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
    # Set when the order leaves OPEN (COMPLETED or CANCELED): SearchOrders filters and sorts on it.
    closed_at = models.DateTimeField(null=True, blank=True)
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


class SquareSandboxPayment(models.Model):
    """A payment as Square returns it (``data``), with the columns lists filter and sort on."""

    merchant = models.ForeignKey(
        SquareSandboxMerchant, on_delete=models.CASCADE, related_name="payments"
    )
    payment_id = models.CharField(max_length=64, unique=True)
    location_id = models.CharField(max_length=64)
    order_id = models.CharField(max_length=64, blank=True, db_index=True)
    # CreatePayment keys are per seller; the fingerprint tells a retry from a reused key.
    idempotency_key = models.CharField(max_length=45, blank=True)
    request_fingerprint = models.CharField(max_length=64, blank=True)
    status = models.CharField(max_length=16)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    data = models.JSONField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["merchant", "idempotency_key"],
                condition=~models.Q(idempotency_key=""),
                name="square_sandbox_payment_idempotency",
            )
        ]
        indexes = [
            models.Index(fields=["merchant", "created_at"], name="sq_sandbox_payment_created"),
        ]

    def __str__(self):
        return f"{self.payment_id} ({self.status})"


class SquareSandboxRefund(models.Model):
    """A PaymentRefund as Square returns it (``data``)."""

    merchant = models.ForeignKey(
        SquareSandboxMerchant, on_delete=models.CASCADE, related_name="refunds"
    )
    refund_id = models.CharField(max_length=128, unique=True)
    payment_id = models.CharField(max_length=64, db_index=True)
    location_id = models.CharField(max_length=64)
    idempotency_key = models.CharField(max_length=192)
    request_fingerprint = models.CharField(max_length=64)
    status = models.CharField(max_length=16)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    data = models.JSONField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["merchant", "idempotency_key"], name="square_sandbox_refund_idempotency"
            )
        ]
        indexes = [
            models.Index(fields=["merchant", "created_at"], name="sq_sandbox_refund_created"),
        ]

    def __str__(self):
        return f"{self.refund_id} ({self.status})"


class SquareSandboxAuthorizationCode(SandboxAuthorizationCode):
    """An OAuth authorization code: valid five minutes, redeemed once."""

    account = models.ForeignKey(SquareSandboxMerchant, on_delete=models.CASCADE)


class SquareSandboxAccessToken(SandboxAccessToken):
    """An OAuth access token and its refresh token; a merchant's own ``access_token`` is apart.
    Code flow: one multi-use refresh token shared by every token it mints. PKCE flow: single
    use, so it is cleared once redeemed."""

    account = models.ForeignKey(
        SquareSandboxMerchant, on_delete=models.CASCADE, related_name="oauth_tokens"
    )
    short_lived = models.BooleanField(default=False)
