"""The OAuth callback: where a platform sends the browser back after the user granted access."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from integrations.base import connections, registry
from integrations.base.page_selectors import FAMILY_PAGES

TEMPLATE = "integrations/oauth_result.html"


@login_required
def oauth_callback(request, family: str, platform: str):
    context = {"platform_name": _platform_name(platform), "family": FAMILY_PAGES.get(family)}
    if request.GET.get("error"):
        context["error"] = f"The platform answered: {request.GET['error'][:200]}"
        return render(request, TEMPLATE, context, status=400)
    try:
        connection = connections.oauth_complete(
            family=family,
            platform=platform,
            state=request.GET.get("state", ""),
            code=request.GET.get("code", ""),
            session_key=request.session.session_key or "",
            site_url=request.build_absolute_uri("/"),
            callback=request.GET.dict(),
        )
    except connections.ConnectError as error:
        return render(request, TEMPLATE, {**context, "error": str(error)}, status=400)
    return render(request, TEMPLATE, {**context, "connection": connection})


def _platform_name(platform: str) -> str:
    try:
        return registry.get(platform).display_name
    except KeyError:
        return "The platform"
