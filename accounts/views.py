"""Tenant pages of accounts: sign in and out, the organization switcher, the members page with
its invitations, and accepting an invitation (signed in, or signing up through the link).

Every tenant page is wrapped in ``tenant_page``. The role rules live in accounts.services; the
views check roles up front only so that a forbidden request is a plain 403.
"""

from functools import wraps

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import BadRequest, PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts import selectors, services
from accounts.forms import (
    BusinessProfileForm,
    FirsSettingsForm,
    InvitationForm,
    InvitationSignUpForm,
    OrganizationSwitchForm,
    SignUpForm,
)
from accounts.models import Invitation, Membership, Organization

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


@require_http_methods(["GET", "POST"])
def sign_up(request):
    """A new account and its business; the owner goes on to the business profile."""
    if request.user.is_authenticated:
        return redirect(HOME_URL)
    form = SignUpForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            membership = services.organization_sign_up(
                username=form.cleaned_data["username"],
                email=form.cleaned_data["email"],
                password=form.cleaned_data["password1"],
                legal_name=form.cleaned_data["legal_name"],
                tin=form.cleaned_data["tin"],
            )
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            login(request, membership.user, backend="django.contrib.auth.backends.ModelBackend")
            request.session[services.SESSION_ORGANIZATION_KEY] = membership.organization_id
            messages.success(
                request,
                f"Welcome. {membership.organization} is registered; complete its profile next.",
            )
            return redirect("accounts:business_profile")
    return render(request, "accounts/sign_up.html", {"form": form})


@tenant_page
@require_http_methods(["GET", "POST"])
def business_profile(request):
    """The business as FIRS's supplier party shows it; everyone sees it, owners change it."""
    organization = request.organization
    can_edit = request.membership.role == Membership.Role.OWNER
    initial = {name: getattr(organization, name) for name in services.PROFILE_FIELDS}
    form = BusinessProfileForm(initial=initial)
    if request.method == "POST":
        _require_owner(request)
        form = BusinessProfileForm(request.POST)
        if form.is_valid():
            try:
                services.organization_profile_update(
                    organization=organization, actor=request.user, **form.cleaned_data
                )
            except ValidationError as exc:
                _add_errors(form, exc)
            else:
                messages.success(request, "The business profile was saved.")
                return redirect("accounts:business_profile")
    return render(
        request,
        "accounts/business_profile.html",
        {"form": form, "can_edit": can_edit},
        status=400 if form.is_bound and form.errors else 200,
    )


@tenant_page
@require_http_methods(["GET", "POST"])
def firs_settings(request):
    """The FIRS ids and keys, saved only once FIRS accepts them together; owners only."""
    _require_owner(request)
    organization = request.organization
    form = FirsSettingsForm(
        initial={
            "firs_business_id": organization.firs_business_id or "",
            "firs_service_id": organization.firs_service_id,
        },
        organization=organization,
    )
    if request.method == "POST":
        form = FirsSettingsForm(request.POST, organization=organization)
        if form.is_valid():
            try:
                services.organization_firs_configure(
                    organization=organization,
                    actor=request.user,
                    base_url=organization.firs_base_url or firs_base_url_default(request),
                    business_id=form.cleaned_data["firs_business_id"],
                    service_id=form.cleaned_data["firs_service_id"],
                    api_key=form.cleaned_data["firs_api_key"],
                    api_secret=form.cleaned_data["firs_api_secret"],
                )
            except ValidationError as exc:
                _add_errors(form, exc)
            else:
                messages.success(request, "FIRS accepted the settings; they are saved.")
                return redirect("accounts:firs_settings")
    return render(
        request,
        "accounts/firs_settings.html",
        {
            "form": form,
            "verified_at": organization.firs_verified_at,
            "setup_problem": selectors.organization_firs_setup_problem(organization=organization),
        },
        status=400 if form.is_bound and form.errors else 200,
    )


def firs_base_url_default(request) -> str:
    """Where a new organization's FIRS calls go: FIRS_BASE_URL, else (in development and tests)
    the FIRS sandbox this site serves."""
    if settings.FIRS_BASE_URL:
        return settings.FIRS_BASE_URL
    if settings.SANDBOX_ENABLED:
        return request.build_absolute_uri("/sandbox/firs")
    return ""


def _add_errors(form, exc: ValidationError) -> None:
    """A service's ValidationError on the form: on its fields where it names them."""
    if hasattr(exc, "error_dict"):
        for field, errors in exc.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc)


def _require_owner(request) -> None:
    if request.membership.role != Membership.Role.OWNER:
        raise PermissionDenied("Only owners can change the business profile and FIRS set-up.")


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
    """Everyone sees the members; owners and admins invite by posting the form here and see the
    pending invitations."""
    form = InvitationForm()
    if request.method == "POST":
        _require_manager(request)
        form = InvitationForm(request.POST)
        if form.is_valid() and _invite(request, form):
            return redirect("accounts:members")
    memberships = selectors.membership_list(organization=request.organization).order_by(
        "user__username"
    )
    invitations = (
        selectors.invitation_list_pending(organization=request.organization)
        if request.membership.can_manage
        else []
    )
    return render(
        request,
        "accounts/members.html",
        {"memberships": memberships, "invitations": invitations, "form": form},
    )


def _invite(request, form: InvitationForm) -> bool:
    try:
        invitation = services.invitation_create(
            organization=request.organization,
            actor=request.user,
            email=form.cleaned_data["email"],
            role=form.cleaned_data["role"],
            site_url=request.build_absolute_uri("/"),
        )
    except ValidationError as exc:
        form.add_error(None, exc)
        return False
    except PermissionDenied as exc:  # an admin inviting an owner
        form.add_error("role", str(exc))
        return False
    except services.InvitationNotSent as exc:
        form.add_error(None, str(exc))
        return False
    messages.success(
        request,
        f"An invitation to join as {invitation.get_role_display().lower()} was e-mailed to "
        f"{invitation.email}.",
    )
    return True


@tenant_page
@require_POST
def invitation_revoke(request, invitation_id: int):
    _require_manager(request)
    try:
        services.invitation_revoke(
            organization=request.organization, actor=request.user, invitation_id=invitation_id
        )
    except Invitation.DoesNotExist as exc:
        raise Http404 from exc
    except (PermissionDenied, services.InvitationClosed) as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, "The invitation was revoked; its link no longer works.")
    return redirect("accounts:members")


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


# --- Accepting an invitation ------------------------------------------------------------------
# The link's token is swapped for its hash in the session at once and the browser sent on to a
# URL without it, so the token leaves no trace in the history, in Referer headers or in the
# sign-in page's "next".

INVITATION_SESSION_KEY = "invitation_token_hash"


@require_GET
def invitation_open(request, token: str):
    try:
        invitation = selectors.invitation_get_by_token(token=token)
    except Invitation.DoesNotExist:
        return _invitation_refused(
            request,
            "This invitation link is not valid. Check that you opened the whole link from the "
            "e-mail, or ask for a new invitation.",
            status=404,
        )
    request.session[INVITATION_SESSION_KEY] = invitation.token_hash
    return redirect("accounts:invitation")


@require_http_methods(["GET", "POST"])
def invitation_accept(request):
    """Signed in: confirm and accept. Signed out: sign in, or sign up for the invited address."""
    invitation = _session_invitation(request)
    if invitation is None:
        return _no_invitation(request)
    if not request.user.is_authenticated:
        if request.method == "POST":
            return redirect_to_login(request.get_full_path(), SIGN_IN_URL)
        return _invitation_page(request, invitation, "accounts/invitation_sign_in.html")
    try:
        if request.method == "GET":
            services.invitation_check(invitation=invitation, user=request.user)
            return _invitation_page(request, invitation, "accounts/invitation_accept.html")
        membership = services.invitation_accept(
            invitation=invitation, user=request.user, session=request.session
        )
    except services.InvitationError as exc:
        return _invitation_refused(request, str(exc), status=_refusal_status(exc))
    return _joined(request, membership)


@require_http_methods(["GET", "POST"])
def invitation_sign_up(request):
    """A new account bound to the invited address, which joins the organization at once."""
    invitation = _session_invitation(request)
    if invitation is None:
        return _no_invitation(request)
    if request.user.is_authenticated:
        return redirect("accounts:invitation")
    try:
        services.invitation_check(invitation=invitation)
    except services.InvitationError as exc:
        return _invitation_refused(request, str(exc), status=_refusal_status(exc))
    form = InvitationSignUpForm(request.POST or None, email=invitation.email)
    if request.method == "POST" and form.is_valid():
        try:
            membership = services.invitation_sign_up(
                invitation=invitation,
                username=form.cleaned_data["username"],
                password=form.cleaned_data["password1"],
                session=request.session,
            )
        except services.InvitationError as exc:
            return _invitation_refused(request, str(exc), status=_refusal_status(exc))
        # Signed in by the account just created, not by a password check: name the backend that
        # loads the user on later requests (the lockout backend is first in the list).
        login(request, membership.user, backend="django.contrib.auth.backends.ModelBackend")
        return _joined(request, membership)
    return _invitation_page(request, invitation, "accounts/invitation_sign_up.html", {"form": form})


def _session_invitation(request) -> Invitation | None:
    token_hash = request.session.get(INVITATION_SESSION_KEY)
    if not token_hash:
        return None
    return selectors.invitation_get_by_token_hash(token_hash=token_hash)


def _joined(request, membership: Membership):
    request.session.pop(INVITATION_SESSION_KEY, None)
    messages.success(
        request,
        f"You joined {membership.organization} as {membership.get_role_display().lower()}.",
    )
    return redirect(HOME_URL)


def _invitation_page(request, invitation: Invitation, template: str, context=None):
    return render(request, template, {"invitation": invitation, **(context or {})})


def _no_invitation(request):
    return _invitation_refused(
        request, "Open the invitation link from your e-mail first.", status=404
    )


def _refusal_status(exc: services.InvitationError) -> int:
    if isinstance(exc, services.InvitationForAnotherUser):
        return 403
    if isinstance(exc, services.InvitationAlreadyMember):
        return 409
    return 410


def _invitation_refused(request, reason: str, *, status: int):
    return render(request, "accounts/invitation_refused.html", {"reason": reason}, status=status)
