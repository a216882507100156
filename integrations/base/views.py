"""The OAuth callback: where a platform sends the browser back after the user granted access."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from integrations.base import connections


@login_required
def oauth_callback(request, family: str, platform: str):
    if request.GET.get("error"):
        return render(
            request,
            "integrations/oauth_result.html",
            {"error": f"The platform answered: {request.GET['error'][:200]}"},
            status=400,
        )
    try:
        connection = connections.oauth_complete(
            family=family,
            platform=platform,
            state=request.GET.get("state", ""),
            code=request.GET.get("code", ""),
            session_key=request.session.session_key or "",
            site_url=request.build_absolute_uri("/"),
        )
    except connections.ConnectError as error:
        return render(request, "integrations/oauth_result.html", {"error": str(error)}, status=400)
    return render(request, "integrations/oauth_result.html", {"connection": connection})
