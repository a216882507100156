"""The Square sandbox under /sandbox/square/: Square's paths, then the sandbox's controls."""

from django.urls import path, re_path

from integrations.pos.square import sandbox

app_name = "square_sandbox"

urlpatterns = [
    path("v2/locations", sandbox.methods(GET=sandbox.locations_view), name="locations"),
    path("v2/orders", sandbox.methods(POST=sandbox.order_create_view), name="orders"),
    path(
        "v2/orders/batch-retrieve",
        sandbox.methods(POST=sandbox.orders_batch_retrieve_view),
        name="orders-batch-retrieve",
    ),
    path(
        "v2/orders/search", sandbox.methods(POST=sandbox.orders_search_view), name="orders-search"
    ),
    path(
        "v2/orders/<str:order_id>",
        sandbox.methods(GET=sandbox.order_retrieve_view, PUT=sandbox.order_update_view),
        name="order",
    ),
    path(
        "_sandbox/orders/<str:order_id>/complete",
        sandbox.methods(POST=sandbox.order_complete_view),
        name="order-complete",
    ),
    re_path(r"^", sandbox.route_not_found),
]
