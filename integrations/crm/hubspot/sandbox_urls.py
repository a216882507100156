"""The HubSpot sandbox under /sandbox/hubspot/: HubSpot's paths, then the sandbox's controls."""

from django.urls import path, re_path

from integrations.crm.hubspot import sandbox

app_name = "hubspot_sandbox"

urlpatterns = [
    path("oauth/authorize", sandbox.methods(GET=sandbox.authorize_view), name="authorize"),
    path("oauth/v1/token", sandbox.methods(POST=sandbox.token_view), name="token"),
    path(
        "oauth/v1/access-tokens/<str:token>",
        sandbox.methods(GET=sandbox.access_token_view),
        name="access-token",
    ),
    path(
        "oauth/v1/refresh-tokens/<str:token>",
        sandbox.methods(GET=sandbox.refresh_token_view, DELETE=sandbox.refresh_token_view),
        name="refresh-token",
    ),
    path(
        "crm/v3/objects/<str:object_type>",
        sandbox.methods(GET=sandbox.objects_view, POST=sandbox.objects_view),
        name="objects",
    ),
    path(
        "crm/v3/objects/<str:object_type>/search",
        sandbox.methods(POST=sandbox.objects_search_view),
        name="objects-search",
    ),
    path(
        "crm/v3/objects/<str:object_type>/batch/read",
        sandbox.methods(POST=sandbox.objects_batch_read_view),
        name="objects-batch-read",
    ),
    path(
        "crm/v3/objects/<str:object_type>/<str:object_id>",
        sandbox.methods(GET=sandbox.object_view, PATCH=sandbox.object_view),
        name="object",
    ),
    path(
        "crm/v4/associations/<str:from_type>/<str:to_type>/batch/read",
        sandbox.methods(POST=sandbox.associations_batch_read_view),
        name="associations-batch-read",
    ),
    path(
        "crm/v3/pipelines/<str:object_type>",
        sandbox.methods(GET=sandbox.pipelines_view),
        name="pipelines",
    ),
    path(
        "_sandbox/faults",
        sandbox.methods(
            GET=sandbox.faults_view, PUT=sandbox.faults_view, DELETE=sandbox.faults_view
        ),
        name="faults",
    ),
    # HubSpot answers unknown paths with its own error body.
    re_path(r"^", sandbox.route_not_found),
]
