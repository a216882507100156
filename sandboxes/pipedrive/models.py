"""The Pipedrive sandbox's own tables: what a fake Pipedrive company holds."""

from django.db import models

from sandboxes.kit.models import SandboxAccessToken, SandboxAuthorizationCode


class PipedriveSandboxCompany(models.Model):
    """A Pipedrive company with our app installed: its OAuth client, a user's personal API
    token, and the custom field its organizations keep their TIN in."""

    company_id = models.PositiveBigIntegerField(unique=True)
    user_id = models.PositiveBigIntegerField()
    domain = models.CharField(max_length=64)
    client_id = models.CharField(max_length=64, unique=True)
    client_secret = models.CharField(max_length=64)
    redirect_uri = models.CharField(max_length=500)
    api_token = models.CharField(max_length=64, unique=True)
    tin_field_key = models.CharField(max_length=40)
    # Requests per token in each 2-second window (Pipedrive's burst limit, configurable).
    burst_limit = models.PositiveIntegerField(default=80)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return f"company {self.company_id}"


class PipedriveSandboxAuthorizationCode(SandboxAuthorizationCode):
    account = models.ForeignKey(
        PipedriveSandboxCompany, on_delete=models.CASCADE, related_name="authorization_codes"
    )


class PipedriveSandboxAccessToken(SandboxAccessToken):
    account = models.ForeignKey(
        PipedriveSandboxCompany, on_delete=models.CASCADE, related_name="access_tokens"
    )
    # The company host the token answer named (this sandbox's root on the site asked).
    api_domain = models.CharField(max_length=500)


class PipedriveSandboxRecord(models.Model):
    """A deal, deal product, person, organization or note; its primary key is its Pipedrive
    id. ``data`` holds the fields as the API answers them, less the ones kept in columns."""

    class Kind(models.TextChoices):
        DEAL = "deal", "Deal"
        DEAL_PRODUCT = "deal_product", "Deal product"
        PERSON = "person", "Person"
        ORGANIZATION = "organization", "Organization"
        NOTE = "note", "Note"

    id = models.BigAutoField(primary_key=True)
    company = models.ForeignKey(
        PipedriveSandboxCompany, on_delete=models.CASCADE, related_name="records"
    )
    kind = models.CharField(max_length=16, choices=Kind.choices)
    # The deal a deal product or note belongs to.
    deal_id = models.PositiveBigIntegerField(null=True, blank=True)
    status = models.CharField(max_length=8, blank=True)
    is_archived = models.BooleanField(default=False)
    data = models.JSONField(default=dict)
    add_time = models.DateTimeField()
    update_time = models.DateTimeField()

    class Meta:
        indexes = [
            models.Index(fields=["company", "kind", "update_time", "id"], name="pd_sbx_updated"),
            models.Index(fields=["company", "kind", "deal_id"], name="pd_sbx_deal"),
        ]

    def __str__(self):
        return f"{self.kind} {self.pk}"


class PipedriveSandboxWebhook(models.Model):
    """A webhook subscription (``POST /v1/webhooks``) and its delivery record: ten first tries
    failed in a row ban it for 30 minutes."""

    company = models.ForeignKey(
        PipedriveSandboxCompany, on_delete=models.CASCADE, related_name="webhooks"
    )
    subscription_url = models.CharField(max_length=500)
    event_action = models.CharField(max_length=8)
    event_object = models.CharField(max_length=16)
    http_auth_user = models.CharField(max_length=128, blank=True)
    http_auth_password = models.CharField(max_length=128, blank=True)
    version = models.CharField(max_length=4, default="2.0")
    first_try_failures = models.PositiveIntegerField(default=0)
    banned_until = models.DateTimeField(null=True, blank=True)
    last_delivery_at = models.DateTimeField(null=True, blank=True)
    last_http_status = models.PositiveSmallIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return f"{self.event_action}.{self.event_object} -> {self.subscription_url}"
