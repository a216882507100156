"""Writes for organizations and memberships. Permission rules live here, not in views."""

from dataclasses import dataclass

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from accounts.api_tokens.services import api_token_demo_ensure
from accounts.models import Membership, Organization, User
from accounts.selectors import membership_get, organization_get_for_user

SESSION_ORGANIZATION_KEY = "current_organization_id"


@transaction.atomic
def organization_create(*, owner: User, **fields) -> Organization:
    organization = Organization(**fields)
    organization.full_clean()
    organization.save()
    Membership.objects.create(user=owner, organization=organization, role=Membership.Role.OWNER)
    return organization


def _require_manager(*, organization: Organization, actor: User) -> Membership:
    membership = membership_get(user=actor, organization=organization)
    if membership is None or not membership.can_manage:
        raise PermissionDenied("Only owners and admins can manage members.")
    return membership


@transaction.atomic
def membership_add(
    *, organization: Organization, actor: User, user: User, role: str = Membership.Role.MEMBER
) -> Membership:
    actor_membership = _require_manager(organization=organization, actor=actor)
    if role not in Membership.Role.values:
        raise ValidationError({"role": f"Unknown role {role!r}."})
    if role == Membership.Role.OWNER and actor_membership.role != Membership.Role.OWNER:
        raise PermissionDenied("Only owners can add owners.")
    membership, created = Membership.objects.get_or_create(
        user=user, organization=organization, defaults={"role": role}
    )
    if not created:
        raise ValidationError({"user": "This user is already a member."})
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
    return organization


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
