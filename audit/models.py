"""The audit trail: who did what, when, to which organization's data. Append-only: the database
refuses to update or delete a row (migration 0001's trigger), and rows keep their organization
and user ids after those are deleted."""

from django.conf import settings
from django.db import models
from django.utils import timezone


class AuditEvent(models.Model):
    class Action(models.TextChoices):
        CONNECTION_CONNECTED = "connection.connected", "Connected a platform"
        CONNECTION_DISCONNECTED = "connection.disconnected", "Disconnected a platform"
        CONNECTION_SECRET_CHANGED = "connection.secret_changed", "Changed a connection's secret"
        CONNECTION_SETTINGS_CHANGED = "connection.settings_changed", "Changed connection settings"
        ORGANIZATION_PROFILE_CHANGED = (
            "organization.profile_changed",
            "Changed the business profile",
        )
        ORGANIZATION_FIRS_CHANGED = "organization.firs_changed", "Changed the FIRS settings"
        PRODUCT_CLASSIFIED = "product.classified", "Classified a product"
        PRODUCTS_IMPORTED = "product.imported", "Imported product classifications"
        INVOICE_REDRIVEN = "invoice.redriven", "Re-drove an invoice"
        SOURCE_RETRIED = "source.retried", "Retried a sale, deal or document"
        INVOICE_MARKED_PAID = "invoice.marked_paid", "Marked an invoice paid"
        MEMBER_INVITED = "member.invited", "Invited a member"
        INVITATION_REVOKED = "member.invitation_revoked", "Revoked an invitation"
        MEMBER_JOINED = "member.joined", "Joined"
        MEMBER_ADDED = "member.added", "Added a member"
        MEMBER_ROLE_CHANGED = "member.role_changed", "Changed a member's role"
        MEMBER_REMOVED = "member.removed", "Removed a member"
        MFA_ENROLLED = "mfa.enrolled", "Enrolled a second factor"
        MFA_VERIFIED = "mfa.verified", "Passed the second factor"
        MFA_FAILED = "mfa.failed", "Failed the second factor"
        LOGIN_LOCKED_OUT = "login.locked_out", "Sign-in locked out"

    id = models.BigAutoField(primary_key=True)
    at = models.DateTimeField(default=timezone.now, editable=False)
    # Ids kept, not enforced: the trail outlives the user and the organization.
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        null=True,
        blank=True,
        related_name="+",
    )
    # Who it was at the time ("system" for automation, the username typed for a lockout).
    actor_label = models.CharField("who", max_length=150)
    organization = models.ForeignKey(
        "accounts.Organization",
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        null=True,
        blank=True,
        related_name="+",
    )
    action = models.CharField(max_length=40, choices=Action.choices)
    target_type = models.CharField(max_length=60, blank=True)
    target_id = models.CharField(max_length=64, blank=True)
    target_label = models.CharField("about", max_length=255, blank=True)
    # field -> [before, after]; a secret field only says it changed, never its value.
    changes = models.JSONField(default=dict, blank=True)

    class Meta:
        db_table = "audit_events"
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["organization", "-at"], name="audit_event_org_at")]

    def __str__(self):
        return f"{self.actor_label}: {self.get_action_display()} {self.target_label}".strip()

    def change_lines(self) -> list[tuple[str, str]]:
        """Each changed field and "before → after" (or what was recorded instead)."""
        lines = []
        for name, change in self.changes.items():
            if isinstance(change, list) and len(change) == 2:
                before, after = (value if value not in (None, "") else "—" for value in change)
                lines.append((name, f"{before} → {after}"))
            else:
                lines.append((name, str(change)))
        return lines
