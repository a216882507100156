"""The FIRS sandbox under /sandbox/firs/: MBS's paths, then the sandbox's controls."""

from sandboxes.firs import server
from sandboxes.firs.api import api
from sandboxes.kit.endpoints import route

app_name = "firs_sandbox"

urlpatterns = api.urls(
    route("api", "health", GET=server.health_view),
    route("api/v1/invoice/irn/validate", "irn-validate", POST=server.irn_validate_view),
    route("api/v1/invoice/validate", "validate", POST=server.invoice_validate_view),
    route("api/v1/invoice/sign", "sign", POST=server.invoice_sign_view),
    route(
        "api/v1/invoice/transmit/<str:irn>",
        "transmit",
        POST=server.invoice_transmit_view,
        PATCH=server.invoice_acknowledge_view,
    ),
    route("api/v1/invoice/confirm/<str:irn>", "confirm", GET=server.invoice_confirm_view),
    route("api/v1/invoice/download/<str:irn>", "download", GET=server.invoice_download_view),
    route("api/v1/invoice/update/<str:irn>", "update", PATCH=server.invoice_update_view),
    route("api/v1/invoice/resources/<str:name>", "resources", GET=server.resource_view),
    api.faults_route(),
    route("_sandbox/stats", "stats", GET=server.stats_view),
)
