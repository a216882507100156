"""Tenant pages of accounts: sign in and out, the organization switcher and the members page.

Every tenant page is wrapped in ``tenant_page``. The role rules live in accounts.services; the
views check roles up front only so that a forbidden request is a plain 403.
"""

from functools import wraps

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import BadRequest, PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from accounts import selectors, services
from accounts.forms import MemberAddForm, OrganizationSwitchForm
from accounts.models import Membership, Organization

# Passed explicitly until settings.LOGIN_URL and LOGIN_REDIRECT_URL name these pages.
SIGN_IN_URL = "accounts:login"
HOME_URL = "invoices:dashboard"


def tenant_page(view):
    """A page of the tenant UI: signed in, with a working organization (request.organization).

    Sets ``request.membership``, the user's role there for permission checks, and
    ``request.organizations``, the organization switcher's choices that the layout shows.
    """

    @login_required(login_url=SIGN_IN_URL)
    @wraps(view)
    def page(request, *args, **kwargs):
        if request.organization is None:
            return render(request, "accounts/no_organization.html", status=403)
        request.membership = selectors.membership_get(
            user=request.user, organization=request.organization
        )
        request.organizations = selectors.organization_list_for_user(user=request.user)
        return view(request, *args, **kwargs)

    return page


sign_in = auth_views.LoginView.as_view(
    template_name="accounts/login.html", redirect_authenticated_user=True, next_page=HOME_URL
)
sign_out = auth_views.LogoutView.as_view(next_page=SIGN_IN_URL)


@login_required(login_url=SIGN_IN_URL)
@require_POST
def organization_switch(request):
    form = OrganizationSwitchForm(request.POST)
    if not form.is_valid():
        raise BadRequest("No organization chosen.")
    try:
        organization = services.current_organization_set(
            session=request.session,
            user=request.user,
            organization_id=form.cleaned_data["organization"],
        )
    except Organization.DoesNotExist as exc:
        raise Http404 from exc
    messages.success(request, f"You are now working in {organization}.")
    return redirect(HOME_URL)


@tenant_page
@require_http_methods(["GET", "POST"])
def member_list(request):
    """Everyone sees the members; owners and admins add one by posting the form here."""
    form = MemberAddForm()
    if request.method == "POST":
        _require_manager(request)
        form = MemberAddForm(request.POST)
        if form.is_valid() and _member_add(request, form):
            return redirect("accounts:members")
    memberships = selectors.membership_list(organization=request.organization).order_by(
        "user__username"
    )
    return render(request, "accounts/members.html", {"memberships": memberships, "form": form})


def _member_add(request, form: MemberAddForm) -> bool:
    try:
        membership = services.membership_add(
            organization=request.organization,
            actor=request.user,
            user=form.cleaned_data["user"],
            role=form.cleaned_data["role"],
        )
    except ValidationError as exc:
        form.add_error(None, exc)
        return False
    except PermissionDenied as exc:  # an admin adding an owner
        form.add_error("role", str(exc))
        return False
    messages.success(
        request, f"{membership.user.username} was added as {membership.get_role_display().lower()}."
    )
    return True


@tenant_page
@require_POST
def member_remove(request, membership_id: int):
    _require_manager(request)
    try:
        services.membership_remove(
            organization=request.organization, actor=request.user, membership_id=membership_id
        )
    except Membership.DoesNotExist as exc:
        raise Http404 from exc
    except ValidationError as exc:  # the last owner
        messages.error(request, " ".join(exc.messages))
    except PermissionDenied as exc:  # an admin removing an owner
        messages.error(request, str(exc))
    else:
        messages.success(request, "The member was removed.")
    return redirect("accounts:members")


def _require_manager(request) -> None:
    if not request.membership.can_manage:
        raise PermissionDenied("Only owners and admins can manage members.")
