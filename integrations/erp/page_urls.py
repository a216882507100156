"""Tenant pages of the ERP, mounted at the site root. The connection actions sit under
integrations/erp/ beside the POS and CRM ones, named alike (the Integrations page builds them by
namespace)."""

from django.urls import path

from integrations.erp import views

app_name = "erp"

urlpatterns = [
    path(
        "integrations/erp/<slug:platform>/connect/",
        views.connection_pages.connect,
        name="connection_connect",
    ),
    path(
        "integrations/erp/connections/<uuid:connection_id>/rename/",
        views.connection_pages.rename,
        name="connection_rename",
    ),
    path(
        "integrations/erp/connections/<uuid:connection_id>/disconnect/",
        views.connection_pages.disconnect,
        name="connection_disconnect",
    ),
    path(
        "integrations/erp/connections/<uuid:connection_id>/test/",
        views.connection_pages.test,
        name="connection_test",
    ),
    path(
        "integrations/erp/connections/<uuid:connection_id>/sync/",
        views.connection_pages.sync,
        name="connection_sync",
    ),
    path(
        "integrations/erp/connections/<uuid:connection_id>/backfill/",
        views.connection_pages.backfill,
        name="connection_backfill",
    ),
    path(
        "integrations/erp/connections/<uuid:connection_id>/settings/",
        views.connection_pages.settings,
        name="connection_settings",
    ),
    path("erp/", views.dashboard, name="dashboard"),
    path("erp/documents/", views.document_list, name="documents"),
    path("erp/documents/<uuid:document_id>/", views.document_detail, name="document"),
    path("erp/documents/<uuid:document_id>/retry/", views.document_retry, name="document_retry"),
    path("erp/sync-runs/<uuid:sync_run_id>/", views.connection_pages.sync_run, name="sync_run"),
]
