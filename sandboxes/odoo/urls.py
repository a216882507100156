"""The Odoo sandbox under /sandbox/odoo/: Odoo 19.0 at the root, 17.0 and 18.0 under their
major version (one Odoo server runs one version), then the kit's faults control."""

from sandboxes.kit.endpoints import route
from sandboxes.odoo import server

app_name = "odoo_sandbox"


def _routes(prefix: str, suffix: str) -> list:
    return [
        route(f"{prefix}web/version", f"version{suffix}", GET=server.version_view),
        route(f"{prefix}json/2/<str:model>/<str:method>", f"json2{suffix}", POST=server.json2_view),
        route(f"{prefix}jsonrpc", f"jsonrpc{suffix}", POST=server.jsonrpc_view),
    ]


urlpatterns = server.api.urls(
    *_routes("", ""), *_routes("<int:major>/", "-versioned"), server.api.faults_route()
)
