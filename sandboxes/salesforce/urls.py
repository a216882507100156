"""The Salesforce sandbox under /sandbox/salesforce/: the login host's OAuth paths and an org's
instance (REST API v62.0), then the sandbox's controls."""

from sandboxes.kit.endpoints import route
from sandboxes.salesforce import views
from sandboxes.salesforce.api import api, oauth, oauth_revoke_view

app_name = "salesforce_sandbox"
DATA = "services/data/v62.0"

urlpatterns = api.urls(
    route("", "root", GET=views.root),
    route("services/oauth2/authorize", "authorize", GET=oauth.authorize_view),
    route("services/oauth2/token", "token", POST=oauth.token_view),
    route("services/oauth2/revoke", "revoke", POST=oauth_revoke_view),
    route(f"{DATA}/query", "query", GET=views.query),
    route(f"{DATA}/query/<str:locator>-<int:offset>", "query-more", GET=views.query_more),
    route(f"{DATA}/limits", "limits", GET=views.limits),
    route(
        f"{DATA}/sobjects/Opportunity/updated",
        "opportunities-updated",
        GET=views.opportunities_updated,
    ),
    route(f"{DATA}/sobjects/<str:object_type>", "sobjects", POST=views.sobject_create),
    route(
        f"{DATA}/sobjects/<str:object_type>/<str:sf_id>",
        "sobject",
        GET=views.sobject,
        PATCH=views.sobject,
    ),
    api.faults_route(),
)
