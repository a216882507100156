from django.urls import path
from rest_framework.routers import SimpleRouter

from integrations.pos.api import ConnectionViewSet, ConnectView, SyncRunViewSet, TransactionViewSet

router = SimpleRouter()
router.register("integrations/pos/connections", ConnectionViewSet, basename="pos-connection")
router.register("integrations/pos/transactions", TransactionViewSet, basename="pos-transaction")
router.register("integrations/pos/sync-runs", SyncRunViewSet, basename="pos-sync-run")

urlpatterns = [
    *router.urls,
    path("integrations/pos/<slug:platform>/connect", ConnectView.as_view(), name="pos-connect"),
]
