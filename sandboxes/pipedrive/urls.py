"""The Pipedrive sandbox under /sandbox/pipedrive/: Pipedrive's paths, then the sandbox's
controls. API v1 answers at ``api/v1/`` (a company host) and ``v1/`` (api.pipedrive.com)."""

from sandboxes.kit.endpoints import route
from sandboxes.pipedrive import views
from sandboxes.pipedrive.api import api, oauth, oauth_revoke_view

app_name = "pipedrive_sandbox"

V1 = (
    ("users/me", "users-me", {"GET": views.user_me}),
    ("webhooks", "webhooks", {"GET": views.webhooks, "POST": views.webhooks}),
    ("webhooks/<int:webhook_id>", "webhook", {"DELETE": views.webhook}),
    ("notes", "notes", {"GET": views.notes, "POST": views.notes}),
)

urlpatterns = api.urls(
    # The root is the api_domain tokens name; only paths below it answer.
    route("", "root", GET=views.root),
    route("oauth/authorize", "authorize", GET=oauth.authorize_view),
    route("oauth/token", "token", POST=oauth.token_view),
    route("oauth/revoke", "revoke", POST=oauth_revoke_view),
    route("api/v2/deals", "deals", GET=views.deals, POST=views.deals),
    route("api/v2/deals/archived", "deals-archived", GET=views.deals_archived),
    route("api/v2/deals/products", "deals-products", GET=views.deals_products),
    route("api/v2/deals/<int:deal_id>", "deal", GET=views.deal, PATCH=views.deal),
    route(
        "api/v2/deals/<int:deal_id>/products",
        "deal-products",
        GET=views.deal_products,
        POST=views.deal_products,
    ),
    route("api/v2/persons", "persons", GET=views.persons, POST=views.persons),
    route(
        "api/v2/organizations", "organizations", GET=views.organizations, POST=views.organizations
    ),
    *(route(f"api/v1/{path}", name, **handlers) for path, name, handlers in V1),
    *(route(f"v1/{path}", f"v1-{name}", **handlers) for path, name, handlers in V1),
    api.faults_route(),
)
