"""The Toast sandbox under /sandbox/toast/: Toast's paths, then the sandbox's controls."""

from sandboxes.kit.endpoints import route
from sandboxes.toast import server
from sandboxes.toast.api import api

app_name = "toast_sandbox"

urlpatterns = api.urls(
    route("authentication/v1/authentication/login", "login", POST=server.login_view),
    route("orders/v2/orders", "orders", POST=server.order_create_view),
    route("orders/v2/orders/<str:guid>", "order", GET=server.order_view),
    route("orders/v2/ordersBulk", "orders-bulk", GET=server.orders_bulk_view),
    route("_sandbox/orders/<str:guid>/refund", "order-refund", POST=server.check_refund_view),
    route("_sandbox/orders/<str:guid>/void", "order-void", POST=server.check_void_view),
    route("_sandbox/orders/<str:guid>/combine", "order-combine", POST=server.order_combine_view),
    api.faults_route(),
)
