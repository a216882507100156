"""Writes for organizations and memberships. Permission rules live here, not in views."""

import logging
import secrets
import smtplib
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urljoin

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import send_mail
from django.core.validators import validate_email
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from accounts.api_tokens.services import api_token_demo_ensure
from accounts.models import Invitation, Membership, Organization, User
from accounts.selectors import invitation_token_hash, membership_get, organization_get_for_user

logger = logging.getLogger(__name__)

SESSION_ORGANIZATION_KEY = "current_organization_id"


@transaction.atomic
def organization_create(*, owner: User, **fields) -> Organization:
    organization = Organization(**fields)
    organization.full_clean()
    organization.save()
    Membership.objects.create(
        user=owner,
        organization=organization,
        role=Membership.Role.OWNER,
        last_used_at=timezone.now(),
    )
    return organization


def _require_manager(*, organization: Organization, actor: User) -> Membership:
    membership = membership_get(user=actor, organization=organization)
    if membership is None or not membership.can_manage:
        raise PermissionDenied("Only owners and admins can manage members.")
    return membership


@transaction.atomic
def membership_remove(*, organization: Organization, actor: User, membership_id: int) -> None:
    actor_membership = _require_manager(organization=organization, actor=actor)
    membership = (
        Membership.objects.select_for_update()
        .filter(organization=organization)
        .get(pk=membership_id)
    )
    if membership.role == Membership.Role.OWNER:
        if actor_membership.role != Membership.Role.OWNER:
            raise PermissionDenied("Only owners can remove owners.")
        owners = Membership.objects.filter(organization=organization, role=Membership.Role.OWNER)
        if owners.count() <= 1:
            raise ValidationError("An organization keeps at least one owner.")
    membership.delete()


def current_organization_set(*, session, user: User, organization_id: int) -> Organization:
    """Switch the signed-in user's working organization; another tenant's id is DoesNotExist."""
    organization = organization_get_for_user(user=user, organization_id=organization_id)
    session[SESSION_ORGANIZATION_KEY] = organization.pk
    Membership.objects.filter(user=user, organization=organization).update(
        last_used_at=timezone.now()
    )
    return organization


# --- Invitations ------------------------------------------------------------------------------
# Membership is by invitation only: a manager names an e-mail address, the link goes to that
# address, and the address's user accepts (or signs up through the link). Nothing here tells the
# inviter whether the address has an account.

INVITATION_LIFETIME = timedelta(days=7)


class InvitationError(Exception):
    """An invitation that cannot be accepted; the message says why, for the invitee."""


class InvitationClosed(InvitationError):
    """Expired, revoked or already used."""


class InvitationForAnotherUser(InvitationError):
    pass


class InvitationAlreadyMember(InvitationError):
    pass


class InvitationNotSent(Exception):
    """The mail server refused the invitation e-mail; nothing was saved."""


def invitation_create(
    *, organization: Organization, actor: User, email: str, role: str, site_url: str
) -> Invitation:
    """Invite ``email`` to ``organization`` with ``role`` and e-mail it the link.

    An open invitation to the same address is replaced (its link stops working). ``site_url`` is
    the address of this site that the link starts with.
    """
    actor_membership = _require_manager(organization=organization, actor=actor)
    if role not in Membership.Role.values:
        raise ValidationError({"role": f"Unknown role {role!r}."})
    if role == Membership.Role.OWNER and actor_membership.role != Membership.Role.OWNER:
        raise PermissionDenied("Only owners can invite owners.")
    email = User.objects.normalize_email(email.strip()).lower()
    try:
        validate_email(email)
    except ValidationError as exc:
        raise ValidationError({"email": exc.messages}) from exc
    token = secrets.token_urlsafe(32)
    now = timezone.now()
    try:
        with transaction.atomic():
            # One open invitation per address: concurrent invitations to it wait for each other.
            Organization.objects.select_for_update().filter(pk=organization.pk).first()
            _open_invitations(organization=organization, email=email).update(revoked_at=now)
            invitation = Invitation.objects.create(
                organization=organization,
                email=email,
                role=role,
                invited_by=actor,
                token_hash=invitation_token_hash(token=token),
                created_at=now,
                expires_at=now + INVITATION_LIFETIME,
            )
            # Sent inside the transaction: an invitation whose e-mail failed is not kept, since
            # nobody holds its link.
            _invitation_mail(invitation=invitation, token=token, site_url=site_url)
    except (smtplib.SMTPException, OSError) as exc:
        logger.warning("Invitation e-mail to organization %s not sent: %s", organization.pk, exc)
        raise InvitationNotSent("The invitation e-mail could not be sent; try again.") from exc
    return invitation


def _open_invitations(*, organization: Organization, email: str):
    return Invitation.objects.filter(
        organization=organization,
        email__iexact=email,
        accepted_at__isnull=True,
        revoked_at__isnull=True,
    )


def _invitation_mail(*, invitation: Invitation, token: str, site_url: str) -> None:
    context = {
        "invitation": invitation,
        "inviter": invitation.invited_by.get_full_name() or invitation.invited_by.username,
        "accept_url": urljoin(
            site_url, reverse("accounts:invitation_open", kwargs={"token": token})
        ),
    }
    send_mail(
        subject=f"Join {invitation.organization.legal_name} on TaxPoynt",
        message=render_to_string("accounts/email/invitation.txt", context),
        from_email=None,
        recipient_list=[invitation.email],
    )


@transaction.atomic
def invitation_revoke(*, organization: Organization, actor: User, invitation_id: int) -> Invitation:
    """Revoke an open invitation; another organization's is Invitation.DoesNotExist."""
    actor_membership = _require_manager(organization=organization, actor=actor)
    invitation = (
        Invitation.objects.select_for_update()
        .filter(organization=organization)
        .get(pk=invitation_id)
    )
    if invitation.role == Membership.Role.OWNER and actor_membership.role != Membership.Role.OWNER:
        raise PermissionDenied("Only owners can revoke an invitation to be an owner.")
    if invitation.status != Invitation.Status.PENDING:
        raise InvitationClosed(
            f"This invitation is {invitation.get_status_display().lower()}, not pending."
        )
    invitation.revoked_at = timezone.now()
    invitation.save(update_fields=["revoked_at"])
    return invitation


def invitations_revoke(*, invitation_ids) -> int:
    """Operators' revocation (admin): revokes the open ones among ``invitation_ids``."""
    return Invitation.objects.filter(
        pk__in=invitation_ids, accepted_at__isnull=True, revoked_at__isnull=True
    ).update(revoked_at=timezone.now())


def invitation_check(*, invitation: Invitation, user: User | None = None) -> None:
    """Raise the InvitationError that stops ``user`` (anyone, when None) from accepting."""
    status = invitation.status
    if status == Invitation.Status.ACCEPTED:
        raise InvitationClosed("This invitation has already been used.")
    if status == Invitation.Status.REVOKED:
        raise InvitationClosed("This invitation was withdrawn. Ask for a new one.")
    if status == Invitation.Status.EXPIRED:
        raise InvitationClosed("This invitation has expired. Ask for a new one.")
    if user is None:
        return
    if not user.email or user.email.lower() != invitation.email.lower():
        raise InvitationForAnotherUser(
            "This invitation was sent to another e-mail address than your account's. Sign in "
            "with the invited address's account, then open the link again."
        )
    if Membership.objects.filter(user=user, organization=invitation.organization_id).exists():
        raise InvitationAlreadyMember(f"You are already a member of {invitation.organization}.")


@transaction.atomic
def invitation_accept(*, invitation: Invitation, user: User, session=None) -> Membership:
    """The invited address's user joins with the invited role; the organization becomes their
    working one (in ``session`` too, when given)."""
    invitation = (
        Invitation.objects.select_for_update(of=("self",))
        .select_related("organization")
        .get(pk=invitation.pk, organization__is_active=True)
    )
    invitation_check(invitation=invitation, user=user)
    now = timezone.now()
    membership = Membership.objects.create(
        user=user, organization=invitation.organization, role=invitation.role, last_used_at=now
    )
    invitation.accepted_at = now
    invitation.accepted_by = user
    invitation.save(update_fields=["accepted_at", "accepted_by"])
    if session is not None:
        session[SESSION_ORGANIZATION_KEY] = invitation.organization.pk
    return membership


@transaction.atomic
def invitation_sign_up(
    *, invitation: Invitation, username: str, password: str, session=None
) -> Membership:
    """A new account for the invited address, joined to the organization in one step."""
    invitation_check(invitation=invitation)
    user = User.objects.create_user(username=username, email=invitation.email, password=password)
    return invitation_accept(invitation=invitation, user=user, session=session)


@dataclass(frozen=True)
class DemoData:
    operator: User
    tenant: User
    organization: Organization
    api_token: str


DEMO_ORGANIZATION = {
    "legal_name": "Demo Foods Ltd",
    "tin": "12345678-0001",
    "firs_service_id": "DEMO0001",
    "contact_email": "accounts@demofoods.example",
    "telephone": "+2348000000000",
    "street_name": "1 Marina Road",
    "city_name": "Lagos",
    "postal_zone": "101001",
    "state": "NG-LA",
    "country": "NG",
}


@transaction.atomic
def demo_data_ensure(
    *, operator_password: str, tenant_password: str, api_token: str | None = None
) -> DemoData:
    """The demo operator, tenant user and organization, created once and kept in step.

    ``api_token`` is the tenant's token given out last time: kept while it works, else replaced.
    """
    operator, _ = User.objects.get_or_create(
        username="operator", defaults={"email": "operator@taxpoynt.example"}
    )
    operator.is_staff = operator.is_superuser = True
    operator.set_password(operator_password)
    operator.save()

    tenant, _ = User.objects.get_or_create(
        username="demo", defaults={"email": "owner@demofoods.example"}
    )
    tenant.set_password(tenant_password)
    tenant.save()

    organization = Organization.objects.filter(legal_name=DEMO_ORGANIZATION["legal_name"]).first()
    if organization is None:
        organization = organization_create(owner=tenant, **DEMO_ORGANIZATION)
    Membership.objects.get_or_create(
        user=tenant, organization=organization, defaults={"role": Membership.Role.OWNER}
    )
    return DemoData(
        operator=operator,
        tenant=tenant,
        organization=organization,
        api_token=api_token_demo_ensure(user=tenant, known_raw=api_token),
    )
