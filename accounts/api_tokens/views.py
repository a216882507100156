"""The API tokens page: a user makes tokens (each shown once), lists and revokes their own."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from accounts.api_tokens import selectors, services
from accounts.api_tokens.forms import ApiTokenCreateForm
from accounts.api_tokens.models import ApiToken
from accounts.views import tenant_page


@tenant_page
@never_cache
@require_http_methods(["GET", "POST"])
def api_token_list(request):
    """A token made here is in this one response and nowhere else (not in the session, not in a
    message): the page is answered, not redirected, and not cached."""
    form = ApiTokenCreateForm()
    issued = None
    status = 200
    if request.method == "POST":
        form = ApiTokenCreateForm(request.POST)
        if form.is_valid():
            try:
                issued = services.api_token_create(
                    user=request.user, name=form.cleaned_data["name"], expires_at=form.expires_at
                )
            except ValidationError as exc:
                form.add_error(None, exc)
            else:
                form = ApiTokenCreateForm()
                status = 201
    tokens = selectors.api_token_list_for_user(user=request.user)
    return render(
        request,
        "accounts/api_tokens.html",
        {"tokens": tokens, "form": form, "issued": issued},
        status=status,
    )


@tenant_page
@require_http_methods(["GET", "POST"])
def api_token_revoke(request, token_id: int):
    """GET asks for confirmation; POST revokes."""
    try:
        if request.method == "GET":
            token = selectors.api_token_get_for_user(user=request.user, token_id=token_id)
            return render(request, "accounts/api_token_revoke.html", {"token": token})
        token = services.api_token_revoke(user=request.user, token_id=token_id)
    except ApiToken.DoesNotExist as exc:
        raise Http404 from exc
    messages.success(request, f"The token {token.prefix}… ({token.name}) was revoked.")
    return redirect("api_tokens:list")
