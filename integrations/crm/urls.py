from django.urls import path
from rest_framework.routers import SimpleRouter

from integrations.crm.api import ConnectionViewSet, ConnectView, DealViewSet, SyncRunViewSet

router = SimpleRouter()
router.register("integrations/crm/connections", ConnectionViewSet, basename="crm-connection")
router.register("integrations/crm/deals", DealViewSet, basename="crm-deal")
router.register("integrations/crm/sync-runs", SyncRunViewSet, basename="crm-sync-run")

urlpatterns = [
    *router.urls,
    path("integrations/crm/<slug:platform>/connect", ConnectView.as_view(), name="crm-connect"),
]
