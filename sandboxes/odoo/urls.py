"""The Odoo sandbox under /sandbox/odoo/: Odoo 19.0 at the root, 17.0 and 18.0 under their
major version (one Odoo server runs one version)."""

from django.urls import path

from sandboxes.odoo import server

app_name = "odoo_sandbox"


def _routes(prefix: str, suffix: str) -> list:
    return [
        path(f"{prefix}web/version", server.version_view, name=f"version{suffix}"),
        path(f"{prefix}json/2/<str:model>/<str:method>", server.json2_view, name=f"json2{suffix}"),
        path(f"{prefix}jsonrpc", server.jsonrpc_view, name=f"jsonrpc{suffix}"),
    ]


urlpatterns = [*_routes("", ""), *_routes("<int:major>/", "-versioned")]
