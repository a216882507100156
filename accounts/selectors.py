"""Reads, each scoped to a user or an organization inside the query: another tenant's rows are
never fetched, so they cannot leak by a forgotten filter afterwards."""

from django.db.models import QuerySet

from accounts.models import Membership, Organization, User


def organization_list_for_user(*, user: User) -> QuerySet[Organization]:
    return Organization.objects.filter(memberships__user=user, is_active=True).distinct()


def organization_get_for_user(*, user: User, organization_id: int) -> Organization:
    """Raises Organization.DoesNotExist for another tenant's organization, as for a missing one."""
    return organization_list_for_user(user=user).get(pk=organization_id)


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
    """The organization a user works in: the preferred one if theirs, else their first."""
    organizations = organization_list_for_user(user=user).order_by("id")
    if preferred_id is not None:
        preferred = organizations.filter(pk=preferred_id).first()
        if preferred is not None:
            return preferred
    return organizations.first()
