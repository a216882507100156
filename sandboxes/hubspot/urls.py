"""The HubSpot sandbox under /sandbox/hubspot/: HubSpot's paths, then the sandbox's controls."""

from django.urls import path, re_path

from sandboxes.hubspot import server

app_name = "hubspot_sandbox"

urlpatterns = [
    path("oauth/authorize", server.methods(GET=server.authorize_view), name="authorize"),
    path("oauth/v1/token", server.methods(POST=server.token_view), name="token"),
    path(
        "oauth/v1/access-tokens/<str:token>",
        server.methods(GET=server.access_token_view),
        name="access-token",
    ),
    path(
        "oauth/v1/refresh-tokens/<str:token>",
        server.methods(GET=server.refresh_token_view, DELETE=server.refresh_token_view),
        name="refresh-token",
    ),
    path(
        "crm/v3/objects/<str:object_type>",
        server.methods(GET=server.objects_view, POST=server.objects_view),
        name="objects",
    ),
    path(
        "crm/v3/objects/<str:object_type>/search",
        server.methods(POST=server.objects_search_view),
        name="objects-search",
    ),
    path(
        "crm/v3/objects/<str:object_type>/batch/read",
        server.methods(POST=server.objects_batch_read_view),
        name="objects-batch-read",
    ),
    path(
        "crm/v3/objects/<str:object_type>/<str:object_id>",
        server.methods(GET=server.object_view, PATCH=server.object_view),
        name="object",
    ),
    path(
        "crm/v4/associations/<str:from_type>/<str:to_type>/batch/read",
        server.methods(POST=server.associations_batch_read_view),
        name="associations-batch-read",
    ),
    path(
        "crm/v3/pipelines/<str:object_type>",
        server.methods(GET=server.pipelines_view),
        name="pipelines",
    ),
    path(
        "_sandbox/faults",
        server.methods(GET=server.faults_view, PUT=server.faults_view, DELETE=server.faults_view),
        name="faults",
    ),
    # HubSpot answers unknown paths with its own error body.
    re_path(r"^", server.route_not_found),
]
