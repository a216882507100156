"""The HubSpot sandbox's own tables: what a fake HubSpot account holds."""

from django.db import models

from sandboxes.kit.models import SandboxAccessToken, SandboxAuthorizationCode


class HubSpotSandboxPortal(models.Model):
    """A HubSpot account (hub) with one app installed in it: the app's OAuth client and a
    private-app token both open the sandbox's CRM endpoints for this account."""

    hub_id = models.PositiveBigIntegerField(unique=True)
    hub_domain = models.CharField(max_length=255)
    app_id = models.PositiveBigIntegerField()
    client_id = models.CharField(max_length=64, unique=True)
    client_secret = models.CharField(max_length=64)
    # The app's registered redirect URL: authorize and token requests must name it exactly.
    redirect_uri = models.CharField(max_length=500)
    private_app_token = models.CharField(max_length=128, unique=True)
    # Requests per token per rolling ten seconds, and per day (HubSpot's limits, configurable).
    ten_secondly_limit = models.PositiveIntegerField(default=110)
    daily_limit = models.PositiveIntegerField(default=250_000)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return f"hub {self.hub_id}"


class HubSpotSandboxAuthorizationCode(SandboxAuthorizationCode):
    account = models.ForeignKey(
        HubSpotSandboxPortal, on_delete=models.CASCADE, related_name="authorization_codes"
    )


class HubSpotSandboxAccessToken(SandboxAccessToken):
    """An access token (30 minutes) with its grant's refresh token (until revoked)."""

    account = models.ForeignKey(
        HubSpotSandboxPortal, on_delete=models.CASCADE, related_name="tokens"
    )


class HubSpotSandboxObject(models.Model):
    """A CRM record (deal, line item, company, contact); its primary key is its HubSpot id."""

    class Type(models.TextChoices):
        DEALS = "deals", "Deal"
        LINE_ITEMS = "line_items", "Line item"
        COMPANIES = "companies", "Company"
        CONTACTS = "contacts", "Contact"

    id = models.BigAutoField(primary_key=True)
    portal = models.ForeignKey(
        HubSpotSandboxPortal, on_delete=models.CASCADE, related_name="crm_objects"
    )
    object_type = models.CharField(max_length=16, choices=Type.choices)
    # Property name -> string value, as HubSpot stores them; computed ones included.
    properties = models.JSONField(default=dict)
    created_at = models.DateTimeField()
    # hs_lastmodifieddate, to the millisecond: searches filter and sort on it.
    updated_at = models.DateTimeField()

    class Meta:
        indexes = [
            models.Index(
                fields=["portal", "object_type", "updated_at", "id"],
                name="hubspot_sandbox_obj_modified",
            )
        ]

    def __str__(self):
        return f"{self.object_type} {self.pk}"


class HubSpotSandboxAssociation(models.Model):
    """One direction of an association; the other direction is its own row with its own type."""

    portal = models.ForeignKey(
        HubSpotSandboxPortal, on_delete=models.CASCADE, related_name="associations"
    )
    from_object = models.ForeignKey(
        HubSpotSandboxObject, on_delete=models.CASCADE, related_name="associations_from"
    )
    to_object = models.ForeignKey(
        HubSpotSandboxObject, on_delete=models.CASCADE, related_name="associations_to"
    )
    type_id = models.PositiveIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["from_object", "to_object", "type_id"],
                name="hubspot_sandbox_association_unique",
            )
        ]

    def __str__(self):
        return f"{self.from_object_id} -[{self.type_id}]-> {self.to_object_id}"


class HubSpotSandboxPipeline(models.Model):
    portal = models.ForeignKey(
        HubSpotSandboxPortal, on_delete=models.CASCADE, related_name="pipelines"
    )
    pipeline_id = models.CharField(max_length=64)
    label = models.CharField(max_length=255)
    display_order = models.IntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["portal", "pipeline_id"], name="hubspot_sandbox_pipeline_unique"
            )
        ]

    def __str__(self):
        return f"{self.label} ({self.pipeline_id})"


class HubSpotSandboxPipelineStage(models.Model):
    pipeline = models.ForeignKey(
        HubSpotSandboxPipeline, on_delete=models.CASCADE, related_name="stages"
    )
    stage_id = models.CharField(max_length=64)
    label = models.CharField(max_length=255)
    display_order = models.IntegerField(default=0)
    probability = models.DecimalField(max_digits=2, decimal_places=1)
    is_closed = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["pipeline", "stage_id"], name="hubspot_sandbox_stage_unique"
            )
        ]

    def __str__(self):
        return f"{self.label} ({self.stage_id})"
