"""The kit's own table: every sandbox's fault switches, in one schema."""

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

RATE_VALIDATORS = [MinValueValidator(0), MaxValueValidator(1)]


class SandboxFaults(models.Model):
    """One sandbox's fault switches, for one account or (``account`` empty) for every account
    without its own. Each rate is drawn independently for each request."""

    class DroppedReply(models.TextChoices):
        CLOSE = "close", "Close the connection without a reply"
        GATEWAY_TIMEOUT = "gateway_timeout", "Answer 504 as a gateway would"

    sandbox = models.CharField(max_length=32, help_text="The sandbox's name: square, hubspot, …")
    account = models.CharField(
        max_length=64,
        blank=True,
        help_text="The account (merchant id, hub id, API key); empty for every account.",
    )
    latency_ms = models.PositiveIntegerField(default=0, validators=[MaxValueValidator(60_000)])
    latency_jitter_ms = models.PositiveIntegerField(
        default=0,
        validators=[MaxValueValidator(60_000)],
        help_text="Each request waits latency ± a uniform draw up to this.",
    )
    server_error_rate = models.FloatField(default=0, validators=RATE_VALIDATORS)
    server_error_status = models.PositiveSmallIntegerField(
        default=503, validators=[MinValueValidator(500), MaxValueValidator(599)]
    )
    rate_limit_rate = models.FloatField(
        default=0, validators=RATE_VALIDATORS, help_text="429 with Retry-After."
    )
    retry_after_seconds = models.PositiveIntegerField(
        default=1, validators=[MaxValueValidator(86_400)]
    )
    retry_after_as_http_date = models.BooleanField(
        default=False, help_text="Send Retry-After as an HTTP date instead of seconds."
    )
    platform_error_rate = models.FloatField(
        default=0,
        validators=RATE_VALIDATORS,
        help_text="The platform's own transient refusal (FIRS: its 400 'try again later').",
    )
    dropped_reply_rate = models.FloatField(
        default=0,
        validators=RATE_VALIDATORS,
        help_text="Do the work and commit it, then lose the reply.",
    )
    dropped_reply_as = models.CharField(
        max_length=16, choices=DroppedReply.choices, default=DroppedReply.CLOSE
    )
    only_operations = models.CharField(
        max_length=255,
        blank=True,
        help_text="Comma-separated operations the faults apply to (the sandbox's names); "
        "empty means all.",
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "sandbox faults"
        constraints = [
            models.UniqueConstraint(fields=["sandbox", "account"], name="sandbox_faults_unique")
        ]

    def __str__(self):
        return f"{self.sandbox} faults ({self.account or 'every account'})"

    def operations(self) -> set[str]:
        return {name.strip() for name in self.only_operations.split(",") if name.strip()}

    def applies_to(self, operation: str) -> bool:
        names = self.operations()
        return not names or operation in names


class SandboxAuthorizationCode(models.Model):
    """An OAuth authorization code, redeemed once before it expires. A sandbox's concrete
    model adds ``account``, a ForeignKey to the account that approved it."""

    code = models.CharField(max_length=255, unique=True)
    client_id = models.CharField(max_length=191)
    scopes = models.JSONField(default=list)
    # Empty when the authorize URL named none; then the token request need not name one either.
    redirect_uri = models.CharField(max_length=2000, blank=True)
    # base64url(SHA-256(code_verifier)) for the PKCE flow; empty for the code flow.
    code_challenge = models.CharField(max_length=128, blank=True)
    expires_at = models.DateTimeField()
    redeemed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        abstract = True

    def __str__(self):
        return f"code for {self.account} ({self.client_id})"


class SandboxAccessToken(models.Model):
    """An OAuth access token with the refresh token of its grant. A sandbox's concrete model
    adds ``account``, a ForeignKey to the account the token acts for.

    Every token a refresh token mints carries it, so the grant is the first of them (it holds
    the scopes the account approved) and revoking the grant revokes them all. A rotating refresh
    token is cleared once redeemed; its successor rides on the new token."""

    client_id = models.CharField(max_length=191)
    access_token = models.CharField(max_length=255, unique=True)
    refresh_token = models.CharField(max_length=255, blank=True, db_index=True)
    refresh_token_expires_at = models.DateTimeField(null=True, blank=True)
    is_pkce = models.BooleanField(default=False)
    scopes = models.JSONField(default=list)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        abstract = True

    def __str__(self):
        return f"token for {self.account} ({self.client_id})"
