"""Reads, each scoped to a user or an organization inside the query: another tenant's rows are
never fetched, so they cannot leak by a forgotten filter afterwards."""

import hashlib

from django.db.models import F, Q, QuerySet
from django.utils import timezone

from accounts.models import Invitation, Membership, OperatorAssignment, Organization, User


def organization_list_for_user(*, user: User) -> QuerySet[Organization]:
    return Organization.objects.filter(memberships__user=user, is_active=True).distinct()


def organization_get_for_user(*, user: User, organization_id: int) -> Organization:
    """Raises Organization.DoesNotExist for another tenant's organization, as for a missing one."""
    return organization_list_for_user(user=user).get(pk=organization_id)


def operator_organization_ids(*, user: User) -> QuerySet | None:
    """The ids of the organizations a staff user operates on in the admin, as a subquery; None
    for a superuser (every organization). Any other staff user is a support operator limited to
    the organizations assigned to them."""
    if user.is_active and user.is_superuser:
        return None
    return OperatorAssignment.objects.filter(operator_id=user.pk).values("organization_id")


def operator_may_operate(*, user: User, organization_id: int) -> bool:
    """Whether a staff user may act on this organization's data."""
    scope = operator_organization_ids(user=user)
    return scope is None or scope.filter(organization_id=organization_id).exists()


def membership_get(*, user: User, organization: Organization) -> Membership | None:
    return (
        Membership.objects.filter(user=user, organization=organization)
        .select_related("organization")
        .first()
    )


def membership_list(*, organization: Organization) -> QuerySet[Membership]:
    return Membership.objects.filter(organization=organization).select_related("user")


def membership_get_in_organization(*, organization: Organization, membership_id: int) -> Membership:
    return membership_list(organization=organization).get(pk=membership_id)


def default_organization_for_user(*, user: User, preferred_id: int | None = None):
    """The organization a user works in on the pages: the preferred one if theirs, else the one
    they chose last (created, joined or switched to), else the one they joined first."""
    organizations = organization_list_for_user(user=user)
    if preferred_id is not None:
        preferred = organizations.filter(pk=preferred_id).first()
        if preferred is not None:
            return preferred
    membership = (
        Membership.objects.filter(user=user, organization__is_active=True)
        .select_related("organization")
        .order_by(F("last_used_at").desc(nulls_last=True), "id")
        .first()
    )
    return membership.organization if membership else None


def invitation_token_hash(*, token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def invitation_get_by_token(*, token: str) -> Invitation:
    """Raises Invitation.DoesNotExist for an unknown token, whatever its state otherwise."""
    return Invitation.objects.select_related("organization").get(
        token_hash=invitation_token_hash(token=token), organization__is_active=True
    )


def invitation_get_by_token_hash(*, token_hash: str) -> Invitation | None:
    return (
        Invitation.objects.select_related("organization")
        .filter(token_hash=token_hash, organization__is_active=True)
        .first()
    )


def invitation_list(*, organization: Organization) -> QuerySet[Invitation]:
    return Invitation.objects.filter(organization=organization).select_related("invited_by")


def invitation_list_pending(*, organization: Organization) -> QuerySet[Invitation]:
    return invitation_list(organization=organization).filter(
        accepted_at__isnull=True, revoked_at__isnull=True, expires_at__gt=timezone.now()
    )


# Fields FIRS's supplier party is built from: the business profile is complete with all of them.
PROFILE_REQUIRED_FIELDS = (
    "legal_name",
    "tin",
    "contact_email",
    "telephone",
    "street_name",
    "city_name",
    "state",
    "country",
)


def organization_profile_is_complete(*, organization: Organization) -> bool:
    return all(getattr(organization, name) for name in PROFILE_REQUIRED_FIELDS)


# What FIRS needs before it signs for an organization: (what the reason calls it, the field).
SELLER_ADDRESS_FIELDS = (
    ("street address", "street_name"),
    ("city", "city_name"),
    ("postal code", "postal_zone"),
)
FIRS_SETUP_FIELDS = (
    ("service id", "firs_service_id"),
    ("business id", "firs_business_id"),
    ("API key", "firs_api_key"),
    ("API secret", "firs_api_secret"),
    ("FIRS address", "firs_base_url"),
)


def organization_firs_setup_problem(*, organization: Organization) -> str:
    """Why FIRS cannot sign for the organization yet (FIRS settings missing, or the supplier
    address FIRS requires); empty once it can."""
    profile_missing = [
        label for label, name in SELLER_ADDRESS_FIELDS if not getattr(organization, name)
    ]
    firs_missing = [label for label, name in FIRS_SETUP_FIELDS if not getattr(organization, name)]
    reasons = []
    if firs_missing:
        reasons.append(
            f"the organization has no FIRS {', '.join(firs_missing)} yet (an owner enters them "
            "on the FIRS page)"
        )
    if profile_missing:
        reasons.append(
            f"the business profile has no {', '.join(profile_missing)}, which FIRS requires of "
            "the seller (an owner fills it in on the Business page)"
        )
    if not reasons:
        return ""
    return (
        f"Waiting for FIRS set-up: {'; '.join(reasons)}. The sale is invoiced once the set-up "
        "is complete."
    )


def organizations_by_firs_setup(*, organizations: QuerySet, complete: bool) -> QuerySet:
    """``organizations`` narrowed to those FIRS can sign for (``complete``) or those it cannot
    yet: the fields ``organization_firs_setup_problem`` names, as one query."""
    missing = Q(firs_business_id__isnull=True)  # a UUID column: absent is NULL, never ""
    for _label, name in (*FIRS_SETUP_FIELDS, *SELLER_ADDRESS_FIELDS):
        if name != "firs_business_id":
            missing |= Q(**{name: ""})
    return organizations.exclude(missing) if complete else organizations.filter(missing)
