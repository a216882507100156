"""Writes for organizations and memberships. Permission rules live here, not in views."""

import logging
import re
import secrets
import smtplib
import uuid
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
from accounts.models import FIRS_SERVICE_ID, FIRS_TIN, Invitation, Membership, Organization, User
from accounts.selectors import (
    invitation_token_hash,
    membership_get,
    operator_may_operate,
    organization_firs_setup_problem,
    organization_get_for_user,
)
from accounts.signals import organization_setup_ready
from audit.services import Action, audit_changes, audit_record
from invoices.firs.client import FirsClient
from invoices.firs.errors import (
    DuplicateIrn,
    FirsAuthenticationError,
    FirsError,
    FirsTransientError,
)
from invoices.selectors import address_codes

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


# --- Sign-up, business profile and FIRS set-up -------------------------------------------------
# One set of rules for the tenant pages and the admin: both call these functions.


@transaction.atomic
def organization_sign_up(
    *, username: str, email: str, password: str, legal_name: str, tin: str
) -> Membership:
    """A new user and their new organization, which they own. The rest of the business profile
    and the FIRS set-up come after, on their own pages."""
    email = User.objects.normalize_email(email.strip()).lower()
    fields = _profile_clean(
        {"legal_name": legal_name, "tin": tin, "contact_email": email, "country": "NG"},
        partial=True,
    )
    user = User(username=username, email=email)
    user.set_password(password)
    user.full_clean(exclude=["password"])
    user.save()
    organization = organization_create(owner=user, **fields)
    return Membership.objects.get(user=user, organization=organization)


PROFILE_FIELDS = (
    "legal_name",
    "tin",
    "contact_email",
    "telephone",
    "street_name",
    "city_name",
    "postal_zone",
    "state",
    "country",
)
# A Nigerian number as people write it: 0803 123 4567, 234 803 123 4567, +234 803 123 4567.
NIGERIAN_LOCAL_PHONE = re.compile(r"0(\d{10})", re.ASCII)
NIGERIAN_PHONE_NO_PLUS = re.compile(r"234(\d{10})", re.ASCII)
E164_PHONE = re.compile(r"\+[1-9]\d{7,14}", re.ASCII)
PHONE_SEPARATORS = re.compile(r"[\s().-]")
MAX_LENGTHS = {"legal_name": 255, "street_name": 255, "city_name": 100, "postal_zone": 20}


def organization_profile_update(
    *, organization: Organization, actor: User, **fields
) -> Organization:
    """Change the business profile (legal name, TIN, address, contact): owners on the tenant
    pages, operators in the admin. Every field is checked before anything is saved."""
    _require_owner_or_operator(organization=organization, actor=actor)
    unknown = set(fields) - set(PROFILE_FIELDS)
    if unknown:
        raise ValidationError(f"Not profile fields: {', '.join(sorted(unknown))}")
    before = _profile_of(organization)
    cleaned = _profile_clean({**before, **fields})
    with transaction.atomic():
        for name, value in cleaned.items():
            setattr(organization, name, value)
        organization.save(update_fields=list(cleaned))
        changes = audit_changes(model=Organization, before=before, after=cleaned)
        if changes:
            audit_record(
                action=Action.ORGANIZATION_PROFILE_CHANGED,
                actor=actor,
                organization=organization,
                target=organization,
                changes=changes,
            )
        _setup_ready_announce(organization)
    return organization


@transaction.atomic
def organization_operator_save(*, organization: Organization, actor: User) -> Organization:
    """An operator's save of an organization's admin form (already checked by
    ``profile_clean``), recorded as a profile change; its FIRS settings go through
    ``organization_firs_configure``."""
    names = (*PROFILE_FIELDS, "firs_public_key", "firs_certificate", "is_active")
    before = Organization.objects.filter(pk=organization.pk).values(*names).first() or {}
    organization.save()
    changes = audit_changes(
        model=Organization,
        before=before,
        after={name: getattr(organization, name) for name in names},
    )
    if before and changes:
        audit_record(
            action=Action.ORGANIZATION_PROFILE_CHANGED,
            actor=actor,
            organization=organization,
            target=organization,
            changes=changes,
        )
    return organization


def _setup_ready_announce(organization: Organization) -> None:
    """Once committed, tell the families the set-up is complete (their waiting sales resume)."""
    if not organization_firs_setup_problem(organization=organization):
        transaction.on_commit(
            lambda: organization_setup_ready.send(sender=Organization, organization=organization)
        )


def profile_clean(**fields) -> dict:
    """The profile fields as they will be stored, or a ValidationError naming each bad field
    (forms call this to show every problem at once)."""
    return _profile_clean(fields)


def _profile_of(organization: Organization) -> dict:
    return {name: getattr(organization, name) for name in PROFILE_FIELDS}


def _profile_clean(fields: dict, *, partial: bool = False) -> dict:
    errors: dict[str, list[str]] = {}
    cleaned = {}
    for name in PROFILE_FIELDS:
        if name not in fields:
            if not partial:
                errors.setdefault(name, []).append("This field is required.")
            continue
        value = str(fields[name] or "").strip()
        try:
            cleaned[name] = _PROFILE_CHECKS.get(name, _text)(value, name=name)
        except ValidationError as error:
            errors.setdefault(name, []).extend(error.messages)
    if not errors.get("state") and cleaned.get("state") and cleaned.get("country") != "NG":
        errors.setdefault("state", []).append(
            "The state is one of Nigeria's; leave it empty for an address abroad."
        )
    if errors:
        raise ValidationError(errors)
    return cleaned


def _text(value: str, *, name: str) -> str:
    limit = MAX_LENGTHS.get(name, 255)
    if len(value) > limit:
        raise ValidationError(f"At most {limit} characters.")
    return value


def _required_text(value: str, *, name: str) -> str:
    if not value:
        raise ValidationError("This field is required.")
    return _text(value, name=name)


def _tin(value: str, *, name: str) -> str:
    FIRS_TIN(value)
    return value


def _email(value: str, *, name: str) -> str:
    if not value:
        raise ValidationError("This field is required.")
    value = User.objects.normalize_email(value).lower()
    validate_email(value)
    return value


def phone_normalize(value: str) -> str:
    """A phone number in E.164 (+2348031234567); a Nigerian number may be written locally.
    Raises ValidationError for anything else; empty stays empty."""
    if not value:
        return ""
    digits = PHONE_SEPARATORS.sub("", value)
    local = NIGERIAN_LOCAL_PHONE.fullmatch(digits) or NIGERIAN_PHONE_NO_PLUS.fullmatch(digits)
    if local:
        digits = "+234" + local[1]
    if not E164_PHONE.fullmatch(digits):
        raise ValidationError(
            "Enter a phone number such as 0803 123 4567 or, with its country code, "
            "+234 803 123 4567."
        )
    return digits


def _phone(value: str, *, name: str) -> str:
    return phone_normalize(value)


def _state(value: str, *, name: str) -> str:
    if not value:
        return ""
    code = value.upper()
    if not address_codes().is_known_state(code):
        raise ValidationError(
            f"{value!r} is not a Nigerian state code on FIRS's list; choose the state, "
            "e.g. NG-LA for Lagos."
        )
    return code


def _country(value: str, *, name: str) -> str:
    code = value.upper()
    if not code:
        raise ValidationError("This field is required.")
    if not address_codes().is_known_country(code):
        raise ValidationError(
            f"{value!r} is not a country code on FIRS's list; use the two-letter ISO code, e.g. NG."
        )
    return code


_PROFILE_CHECKS = {
    "legal_name": _required_text,
    "tin": _tin,
    "contact_email": _email,
    "telephone": _phone,
    "state": _state,
    "country": _country,
}


class FirsSetupRefused(ValidationError):
    """FIRS (or the check before asking it) refused the FIRS settings; nothing was saved."""


# The invoice number of the IRN the credential check asks FIRS about; it registers nothing.
FIRS_CHECK_INVOICE_NUMBER = "TAXPOYNTCHECK"


def organization_firs_configure(
    *,
    organization: Organization,
    actor: User,
    business_id,
    service_id: str,
    base_url: str,
    api_key: str = "",
    api_secret: str = "",
) -> Organization:
    """Store the FIRS business id, service id, base URL and API key and secret once FIRS has
    accepted them together. A blank key or secret keeps the stored one (they are write-only).

    Raises FirsSetupRefused, naming the field where it can, when a value is malformed or FIRS
    refuses; nothing is saved then.
    """
    _require_owner_or_operator(organization=organization, actor=actor)
    errors: dict[str, list[str]] = {}
    try:
        business_id = uuid.UUID(str(business_id).strip())
    except ValueError:
        errors["firs_business_id"] = ["The FIRS business id is a UUID, as FIRS shows it."]
    service_id = (service_id or "").strip().upper()
    try:
        FIRS_SERVICE_ID(service_id)
    except ValidationError as error:
        errors["firs_service_id"] = error.messages
    api_key = (api_key or "").strip() or str(organization.firs_api_key or "")
    api_secret = (api_secret or "").strip() or str(organization.firs_api_secret or "")
    if not api_key:
        errors["firs_api_key"] = ["Enter the API key from the FIRS dashboard."]
    if not api_secret:
        errors["firs_api_secret"] = ["Enter the API secret from the FIRS dashboard."]
    if not base_url:
        errors["firs_base_url"] = ["No FIRS address is configured for this site."]
    if errors:
        raise FirsSetupRefused(errors)
    firs_credentials_check(
        base_url=base_url,
        api_key=api_key,
        api_secret=api_secret,
        business_id=business_id,
        service_id=service_id,
    )
    firs_fields = ("firs_business_id", "firs_service_id", "firs_base_url")
    secret_fields = ("firs_api_key", "firs_api_secret")
    before = {name: getattr(organization, name) for name in (*firs_fields, *secret_fields)}
    with transaction.atomic():
        organization.firs_business_id = business_id
        organization.firs_service_id = service_id
        organization.firs_base_url = base_url
        organization.firs_api_key = api_key
        organization.firs_api_secret = api_secret
        organization.firs_verified_at = timezone.now()
        organization.save(
            update_fields=[
                "firs_business_id",
                "firs_service_id",
                "firs_base_url",
                "firs_api_key",
                "firs_api_secret",
                "firs_verified_at",
            ]
        )
        after = {name: getattr(organization, name) for name in before}
        audit_record(
            action=Action.ORGANIZATION_FIRS_CHANGED,
            actor=actor,
            organization=organization,
            target=organization,
            changes={
                **audit_changes(model=Organization, before=before, after=after),
                "firs_verified_at": "verified by FIRS",
            },
        )
        _setup_ready_announce(organization)
    logger.info("FIRS set-up of organization %s verified", organization.pk)
    return organization


def firs_credentials_check(
    *, base_url: str, api_key: str, api_secret: str, business_id, service_id: str
) -> None:
    """Ask FIRS whether these keys may issue IRNs for this business and service id: it validates
    an IRN of a check invoice (registering nothing). Raises FirsSetupRefused with FIRS's answer."""
    irn = f"{FIRS_CHECK_INVOICE_NUMBER}-{service_id}-{timezone.localdate():%Y%m%d}"
    try:
        with FirsClient(base_url, api_key, api_secret, timeout=(5, 15)) as client:
            client.validate_irn(
                business_id=str(business_id),
                invoice_reference=FIRS_CHECK_INVOICE_NUMBER,
                irn=irn,
            )
    except DuplicateIrn:
        return  # FIRS knows the IRN: the keys were accepted for this business
    except FirsAuthenticationError as error:
        raise FirsSetupRefused(
            {"firs_api_key": [f"FIRS refused this API key and secret: {_firs_words(error)}"]}
        ) from error
    except FirsTransientError as error:
        raise FirsSetupRefused(
            "FIRS could not be reached to check these settings, so nothing was saved. "
            f"Try again in a few minutes. ({_firs_words(error)})"
        ) from error
    except FirsError as error:
        words = _firs_words(error)
        field = "firs_service_id" if "irn" in words.lower() else "firs_business_id"
        raise FirsSetupRefused(
            {field: [f"FIRS refused this business id and service id with these keys: {words}"]}
        ) from error


def _firs_words(error: FirsError) -> str:
    return error.details or error.public_message or str(error)


def _require_owner_or_operator(*, organization: Organization, actor: User) -> None:
    if actor.is_staff and operator_may_operate(user=actor, organization_id=organization.pk):
        return
    membership = membership_get(user=actor, organization=organization)
    if membership is None or membership.role != Membership.Role.OWNER:
        raise PermissionDenied("Only owners can change the business profile and FIRS set-up.")


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
    audit_record(
        action=Action.MEMBER_REMOVED,
        actor=actor,
        organization=organization,
        target=membership,
        changes={"role": [membership.role, None]},
    )
    membership.delete()


@transaction.atomic
def membership_operator_save(*, membership: Membership, actor: User) -> Membership:
    """An operator's membership edit in the admin (tenants' own go through invitations and
    ``membership_remove``): saved, and recorded as a member added or a role changed."""
    before = (
        Membership.objects.filter(pk=membership.pk).values_list("role", flat=True).first()
        if membership.pk
        else None
    )
    membership.save()
    if before != membership.role:
        audit_record(
            action=Action.MEMBER_ADDED if before is None else Action.MEMBER_ROLE_CHANGED,
            actor=actor,
            organization=membership.organization_id,
            target=membership,
            changes={"role": [before, membership.role]},
        )
    return membership


@transaction.atomic
def membership_operator_delete(*, membership: Membership, actor: User) -> None:
    """An operator's removal of a member in the admin, recorded."""
    audit_record(
        action=Action.MEMBER_REMOVED,
        actor=actor,
        organization=membership.organization_id,
        target=membership,
        changes={"role": [membership.role, None]},
    )
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
            audit_record(
                action=Action.MEMBER_INVITED,
                actor=actor,
                organization=organization,
                target=invitation,
                changes={"email": [None, email], "role": [None, role]},
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
    _invitation_revoked_record(invitation=invitation, actor=actor)
    return invitation


def _invitation_revoked_record(*, invitation: Invitation, actor) -> None:
    audit_record(
        action=Action.INVITATION_REVOKED,
        actor=actor,
        organization=invitation.organization_id,
        target=invitation,
        changes={"email": [invitation.email, None], "role": [invitation.role, None]},
    )


@transaction.atomic
def invitations_revoke(*, invitation_ids, actor=None) -> int:
    """Operators' revocation (admin): revokes the open ones among ``invitation_ids``."""
    open_ones = list(
        Invitation.objects.select_for_update().filter(
            pk__in=invitation_ids, accepted_at__isnull=True, revoked_at__isnull=True
        )
    )
    Invitation.objects.filter(pk__in=[i.pk for i in open_ones]).update(revoked_at=timezone.now())
    for invitation in open_ones:
        _invitation_revoked_record(invitation=invitation, actor=actor)
    return len(open_ones)


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
    audit_record(
        action=Action.MEMBER_JOINED,
        actor=user,
        organization=invitation.organization,
        target=membership,
        changes={"role": [None, membership.role], "invited_by": [None, invitation.invited_by_id]},
    )
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
def _password_keep(user: User, password: str) -> None:
    """Set the password only when it is not the user's already: a new hash (a new salt) of the
    same password would sign every browser session of the user out."""
    if not user.check_password(password):
        user.set_password(password)


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
    _password_keep(operator, operator_password)
    operator.save()

    tenant, _ = User.objects.get_or_create(
        username="demo", defaults={"email": "owner@demofoods.example"}
    )
    _password_keep(tenant, tenant_password)
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
