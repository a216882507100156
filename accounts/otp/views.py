"""Staff second-factor pages: enrol an authenticator once, then enter a code to open the admin."""

from django.contrib.auth import REDIRECT_FIELD_NAME
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.views.decorators.http import require_http_methods
from django_otp import login as otp_login
from django_otp import user_has_device

from accounts.otp import selectors, services
from accounts.otp.forms import OtpCodeForm

ENROLMENT_SESSION_KEY = "otp_enrolment_device_id"


def _staff_only(request) -> None:
    if not request.user.is_staff:
        raise PermissionDenied("Only staff sign in with a second factor.")


def _next_url(request) -> str:
    candidate = request.POST.get(REDIRECT_FIELD_NAME) or request.GET.get(REDIRECT_FIELD_NAME)
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return reverse("admin:index")


@login_required
@require_http_methods(["GET", "POST"])
def second_factor(request):
    _staff_only(request)
    next_url = _next_url(request)
    if not user_has_device(request.user, confirmed=True):
        return redirect(
            f"{reverse('accounts:second_factor_enrol')}?{urlencode({'next': next_url})}"
        )
    form = OtpCodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        device = services.otp_device_for_code(user=request.user, token=form.cleaned_data["code"])
        if device is not None:
            otp_login(request, device)
            return redirect(next_url)
        form.add_error("code", "That code is not right, or was already used.")
    return render(request, "accounts/second_factor.html", {"form": form, "next": next_url})


@login_required
@require_http_methods(["GET", "POST"])
def second_factor_enrol(request):
    _staff_only(request)
    next_url = _next_url(request)
    if user_has_device(request.user, confirmed=True):
        return redirect(f"{reverse('accounts:second_factor')}?{urlencode({'next': next_url})}")
    form = OtpCodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            device, backup_codes = services.totp_enrolment_confirm(
                user=request.user,
                device_id=request.session.get(ENROLMENT_SESSION_KEY) or 0,
                token=form.cleaned_data["code"],
            )
        except ValidationError as exc:
            form.add_error("code", exc)
        else:
            request.session.pop(ENROLMENT_SESSION_KEY, None)
            otp_login(request, device)
            return render(
                request,
                "accounts/second_factor_backup_codes.html",
                {"backup_codes": backup_codes, "next": next_url},
            )
    # A wrong code keeps the secret already scanned; opening the page afresh replaces it.
    device = None
    if request.method == "POST":
        device = selectors.totp_pending_get(
            user=request.user, device_id=request.session.get(ENROLMENT_SESSION_KEY)
        )
    if device is None:
        device = services.totp_enrolment_start(user=request.user)
        request.session[ENROLMENT_SESSION_KEY] = device.pk
    return render(
        request,
        "accounts/second_factor_enrol.html",
        {
            "form": form,
            "next": next_url,
            "qr_data_uri": services.totp_qr_data_uri(device=device),
            "secret": services.totp_secret_base32(device=device),
        },
    )
