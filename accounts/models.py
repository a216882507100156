import re
import uuid

from django.contrib.auth.models import AbstractUser
from django.core.validators import RegexValidator
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone

from taxpoynt.lib.fields import EncryptedTextField

FIRS_TIN = RegexValidator(r"^\d{8}-\d{4}$", "A FIRS TIN looks like 12345678-0001.")
FIRS_SERVICE_ID = RegexValidator(
    r"^[A-Za-z0-9]{8}$", "The FIRS service id is 8 letters or digits.", flags=re.ASCII
)


class User(AbstractUser):
    """A person: an operator (staff) or a tenant user (member of organizations)."""


class Organization(models.Model):
    """A tenant: one business registered with FIRS."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    legal_name = models.CharField(max_length=255)
    tin = models.CharField("TIN", max_length=13, validators=[FIRS_TIN])
    firs_business_id = models.UUIDField("FIRS business id", null=True, blank=True)
    firs_service_id = models.CharField(
        "FIRS service id", max_length=8, blank=True, validators=[FIRS_SERVICE_ID]
    )
    contact_email = models.EmailField()
    telephone = models.CharField(max_length=20, blank=True)
    street_name = models.CharField(max_length=255, blank=True)
    city_name = models.CharField(max_length=100, blank=True)
    postal_zone = models.CharField(max_length=20, blank=True)
    state = models.CharField(max_length=10, blank=True, help_text="ISO 3166-2, e.g. NG-LA")
    country = models.CharField(max_length=2, default="NG")
    firs_base_url = models.URLField("FIRS base URL", blank=True)
    firs_api_key = EncryptedTextField("FIRS API key")
    firs_api_secret = EncryptedTextField("FIRS API secret")
    # From the dashboard's crypto_keys.txt; used for the QR stamp. Public, so not encrypted.
    firs_public_key = models.TextField("FIRS public key", blank=True)
    firs_certificate = models.TextField("FIRS certificate", blank=True)
    # When FIRS last accepted the API key and secret for this business and service id
    # (accounts.services.organization_firs_configure); cleared when they change unverified.
    firs_verified_at = models.DateTimeField("FIRS verified at", null=True, blank=True)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["legal_name", "id"]

    def __str__(self):
        return self.legal_name


class Membership(models.Model):
    class Role(models.TextChoices):
        OWNER = "owner", "Owner"
        ADMIN = "admin", "Admin"
        MEMBER = "member", "Member"
        VIEWER = "viewer", "Viewer"

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.MEMBER)
    created_at = models.DateTimeField(auto_now_add=True)
    # When the user last chose to work here (created it, accepted its invitation, switched to it):
    # their default organization is the one chosen last, never one they were put in.
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "organization"], name="uniq_membership")
        ]
        ordering = ["organization_id", "user_id"]

    def __str__(self):
        return f"{self.user} in {self.organization} ({self.role})"

    @property
    def can_manage(self) -> bool:
        """Owners and admins manage members and connections."""
        return self.role in (self.Role.OWNER, self.Role.ADMIN)

    @property
    def can_operate(self) -> bool:
        """Everyone but viewers can retry, sync and connect."""
        return self.role != self.Role.VIEWER


class Invitation(models.Model):
    """An owner's or admin's offer of a role to an e-mail address; only its acceptance by the
    address's user makes a Membership.

    The link carries a random token; only its SHA-256 is stored, so a database reader cannot
    accept an invitation.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        ACCEPTED = "accepted", "Accepted"
        REVOKED = "revoked", "Revoked"
        EXPIRED = "expired", "Expired"

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="invitations"
    )
    email = models.EmailField()
    role = models.CharField(max_length=10, choices=Membership.Role.choices)
    invited_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            # Inviting an address again replaces its open invitation (accounts.services).
            models.UniqueConstraint(
                "organization",
                Lower("email"),
                condition=models.Q(accepted_at__isnull=True, revoked_at__isnull=True),
                name="uniq_open_invitation",
            )
        ]
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"{self.email} to {self.organization} ({self.role})"

    @property
    def status(self) -> str:
        if self.accepted_at is not None:
            return self.Status.ACCEPTED
        if self.revoked_at is not None:
            return self.Status.REVOKED
        if self.expires_at <= timezone.now():
            return self.Status.EXPIRED
        return self.Status.PENDING

    def get_status_display(self) -> str:
        return self.Status(self.status).label


class OperatorAssignment(models.Model):
    """An organization a support operator may see and act on in the admin.

    Superusers see every organization; any other staff user is a support operator and sees only
    the organizations assigned here (none until one is)."""

    operator = models.ForeignKey(
        User, on_delete=models.CASCADE, related_name="operator_assignments"
    )
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="operator_assignments"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["operator", "organization"], name="uniq_operator_assignment"
            )
        ]
        ordering = ["operator_id", "organization_id"]

    def __str__(self):
        return f"{self.operator} supports {self.organization}"


from accounts.api_tokens.models import ApiToken  # noqa: E402, F401 (registers the model)
