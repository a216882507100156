"""The FIRS sandbox under /sandbox/firs/: MBS's paths (brief §2), then the sandbox's controls."""

from django.urls import path, re_path

from sandboxes.firs import server

app_name = "firs_sandbox"

urlpatterns = [
    path("api", server.methods(GET=server.health_view), name="health"),
    path(
        "api/v1/invoice/irn/validate",
        server.methods(POST=server.irn_validate_view),
        name="irn-validate",
    ),
    path(
        "api/v1/invoice/validate",
        server.methods(POST=server.invoice_validate_view),
        name="validate",
    ),
    path("api/v1/invoice/sign", server.methods(POST=server.invoice_sign_view), name="sign"),
    path(
        "api/v1/invoice/transmit/<str:irn>",
        server.methods(POST=server.invoice_transmit_view, PATCH=server.invoice_acknowledge_view),
        name="transmit",
    ),
    path(
        "api/v1/invoice/confirm/<str:irn>",
        server.methods(GET=server.invoice_confirm_view),
        name="confirm",
    ),
    path(
        "api/v1/invoice/download/<str:irn>",
        server.methods(GET=server.invoice_download_view),
        name="download",
    ),
    path(
        "api/v1/invoice/update/<str:irn>",
        server.methods(PATCH=server.invoice_update_view),
        name="update",
    ),
    path(
        "api/v1/invoice/resources/<str:name>",
        server.methods(GET=server.resource_view),
        name="resources",
    ),
    path(
        "_sandbox/faults",
        server.methods(GET=server.faults_view, PUT=server.faults_view, DELETE=server.faults_view),
        name="faults",
    ),
    path("_sandbox/stats", server.methods(GET=server.stats_view), name="stats"),
    # MBS answers unknown paths with its own 404 envelope.
    re_path(r"^", server.route_not_found),
]
