"""The HubSpot sandbox under /sandbox/hubspot/: HubSpot's paths, then the sandbox's controls."""

from sandboxes.hubspot import server
from sandboxes.hubspot.api import access_token_view, api, oauth, refresh_token_view
from sandboxes.kit.endpoints import route

app_name = "hubspot_sandbox"

urlpatterns = api.urls(
    route("oauth/authorize", "authorize", GET=oauth.authorize_view),
    route("oauth/v1/token", "token", POST=oauth.token_view),
    route("oauth/v1/access-tokens/<str:token>", "access-token", GET=access_token_view),
    route(
        "oauth/v1/refresh-tokens/<str:token>",
        "refresh-token",
        GET=refresh_token_view,
        DELETE=refresh_token_view,
    ),
    route(
        "crm/v3/objects/<str:object_type>",
        "objects",
        GET=server.objects_view,
        POST=server.objects_view,
    ),
    route(
        "crm/v3/objects/<str:object_type>/search",
        "objects-search",
        POST=server.objects_search_view,
    ),
    route(
        "crm/v3/objects/<str:object_type>/batch/read",
        "objects-batch-read",
        POST=server.objects_batch_read_view,
    ),
    route(
        "crm/v3/objects/<str:object_type>/<str:object_id>",
        "object",
        GET=server.object_view,
        PATCH=server.object_view,
    ),
    route(
        "crm/v4/associations/<str:from_type>/<str:to_type>/batch/read",
        "associations-batch-read",
        POST=server.associations_batch_read_view,
    ),
    route("crm/v3/pipelines/<str:object_type>", "pipelines", GET=server.pipelines_view),
    api.faults_route(),
)
