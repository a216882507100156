"""The Square sandbox under /sandbox/square/: Square's paths, then the sandbox's controls."""

from django.urls import path, re_path

from sandboxes.square import server

app_name = "square_sandbox"

urlpatterns = [
    path("v2/locations", server.methods(GET=server.locations_view), name="locations"),
    path("v2/orders", server.methods(POST=server.order_create_view), name="orders"),
    path(
        "v2/orders/batch-retrieve",
        server.methods(POST=server.orders_batch_retrieve_view),
        name="orders-batch-retrieve",
    ),
    path("v2/orders/search", server.methods(POST=server.orders_search_view), name="orders-search"),
    path(
        "v2/orders/<str:order_id>",
        server.methods(GET=server.order_retrieve_view, PUT=server.order_update_view),
        name="order",
    ),
    path(
        "v2/payments",
        server.methods(GET=server.payments_list_view, POST=server.payment_create_view),
        name="payments",
    ),
    path(
        "v2/payments/<str:payment_id>",
        server.methods(GET=server.payment_retrieve_view),
        name="payment",
    ),
    path(
        "v2/payments/<str:payment_id>/complete",
        server.methods(POST=server.payment_complete_view),
        name="payment-complete",
    ),
    path(
        "v2/refunds",
        server.methods(GET=server.refunds_list_view, POST=server.refund_create_view),
        name="refunds",
    ),
    path(
        "v2/refunds/<str:refund_id>",
        server.methods(GET=server.refund_retrieve_view),
        name="refund",
    ),
    path(
        "oauth2/authorize",
        server.methods(GET=server.oauth_authorize_view),
        name="oauth-authorize",
    ),
    path("oauth2/token", server.methods(POST=server.oauth_token_view), name="oauth-token"),
    path(
        "oauth2/token/status",
        server.methods(POST=server.oauth_token_status_view),
        name="oauth-token-status",
    ),
    path("oauth2/revoke", server.methods(POST=server.oauth_revoke_view), name="oauth-revoke"),
    path(
        "_sandbox/orders/<str:order_id>/complete",
        server.methods(POST=server.order_complete_view),
        name="order-complete",
    ),
    path(
        "_sandbox/faults",
        server.methods(GET=server.faults_view, POST=server.faults_view, DELETE=server.faults_view),
        name="faults",
    ),
    re_path(r"^", server.route_not_found),
]
