"""The FIRS sandbox under /sandbox/firs/: MBS's paths (brief §2), then the sandbox's controls."""

from django.urls import path, re_path

from invoices.firs import sandbox

app_name = "firs_sandbox"

urlpatterns = [
    path("api", sandbox.methods(GET=sandbox.health_view), name="health"),
    path(
        "api/v1/invoice/irn/validate",
        sandbox.methods(POST=sandbox.irn_validate_view),
        name="irn-validate",
    ),
    path(
        "api/v1/invoice/validate",
        sandbox.methods(POST=sandbox.invoice_validate_view),
        name="validate",
    ),
    path("api/v1/invoice/sign", sandbox.methods(POST=sandbox.invoice_sign_view), name="sign"),
    path(
        "api/v1/invoice/transmit/<str:irn>",
        sandbox.methods(POST=sandbox.invoice_transmit_view, PATCH=sandbox.invoice_acknowledge_view),
        name="transmit",
    ),
    path(
        "api/v1/invoice/confirm/<str:irn>",
        sandbox.methods(GET=sandbox.invoice_confirm_view),
        name="confirm",
    ),
    path(
        "api/v1/invoice/download/<str:irn>",
        sandbox.methods(GET=sandbox.invoice_download_view),
        name="download",
    ),
    path(
        "api/v1/invoice/update/<str:irn>",
        sandbox.methods(PATCH=sandbox.invoice_update_view),
        name="update",
    ),
    path(
        "api/v1/invoice/resources/<str:name>",
        sandbox.methods(GET=sandbox.resource_view),
        name="resources",
    ),
    path(
        "_sandbox/faults",
        sandbox.methods(
            GET=sandbox.faults_view, PUT=sandbox.faults_view, DELETE=sandbox.faults_view
        ),
        name="faults",
    ),
    path("_sandbox/stats", sandbox.methods(GET=sandbox.stats_view), name="stats"),
    # MBS answers unknown paths with its own 404 envelope.
    re_path(r"^", sandbox.route_not_found),
]
