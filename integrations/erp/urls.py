from django.urls import path
from rest_framework.routers import SimpleRouter

from integrations.erp.api import ConnectionViewSet, ConnectView, DocumentViewSet, SyncRunViewSet

router = SimpleRouter()
router.register("integrations/erp/connections", ConnectionViewSet, basename="erp-connection")
router.register("integrations/erp/documents", DocumentViewSet, basename="erp-document")
router.register("integrations/erp/sync-runs", SyncRunViewSet, basename="erp-sync-run")

urlpatterns = [
    *router.urls,
    path("integrations/erp/<slug:platform>/connect", ConnectView.as_view(), name="erp-connect"),
]
