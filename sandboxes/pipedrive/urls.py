"""The Pipedrive sandbox under /sandbox/pipedrive/: Pipedrive's paths, then the sandbox's
controls. API v1 answers at ``api/v1/`` (a company host) and ``v1/`` (api.pipedrive.com)."""

from django.urls import path, re_path

from sandboxes.pipedrive import server, views
from sandboxes.pipedrive.server import methods

app_name = "pipedrive_sandbox"

V1 = [
    ("users/me", methods(operation="users", GET=views.user_me), "users-me"),
    (
        "webhooks",
        methods(operation="webhooks", GET=views.webhooks, POST=views.webhooks),
        "webhooks",
    ),
    ("webhooks/<int:webhook_id>", methods(operation="webhooks", DELETE=views.webhook), "webhook"),
    ("notes", methods(operation="notes", GET=views.notes, POST=views.notes), "notes"),
]

urlpatterns = [
    path("", server.route_not_found, name="root"),
    path("oauth/authorize", views.authorize, name="authorize"),
    path("oauth/token", views.token, name="token"),
    path("oauth/revoke", views.revoke, name="revoke"),
    path(
        "api/v2/deals",
        methods(operation="deals", GET=views.deals, POST=views.deals),
        name="deals",
    ),
    path("api/v2/deals/archived", methods(operation="deals", GET=views.deals_archived)),
    path("api/v2/deals/products", methods(operation="deal_products", GET=views.deals_products)),
    path(
        "api/v2/deals/<int:deal_id>",
        methods(operation="deal", GET=views.deal, PATCH=views.deal),
        name="deal",
    ),
    path(
        "api/v2/deals/<int:deal_id>/products",
        methods(operation="deal_products", GET=views.deal_products, POST=views.deal_products),
        name="deal-products",
    ),
    path("api/v2/persons", methods(operation="persons", GET=views.persons, POST=views.persons)),
    path(
        "api/v2/organizations",
        methods(operation="organizations", GET=views.organizations, POST=views.organizations),
    ),
    *(path(f"api/v1/{route}", view, name=name) for route, view, name in V1),
    *(path(f"v1/{route}", view) for route, view, _name in V1),
    path(
        "_sandbox/faults",
        methods(operation="", GET=views.faults, PUT=views.faults, DELETE=views.faults),
        name="faults",
    ),
    # Pipedrive answers unknown paths with its own error body.
    re_path(r"^", server.route_not_found),
]
