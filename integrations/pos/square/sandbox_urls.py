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
        "v2/payments",
        sandbox.methods(GET=sandbox.payments_list_view, POST=sandbox.payment_create_view),
        name="payments",
    ),
    path(
        "v2/payments/<str:payment_id>",
        sandbox.methods(GET=sandbox.payment_retrieve_view),
        name="payment",
    ),
    path(
        "v2/payments/<str:payment_id>/complete",
        sandbox.methods(POST=sandbox.payment_complete_view),
        name="payment-complete",
    ),
    path(
        "v2/refunds",
        sandbox.methods(GET=sandbox.refunds_list_view, POST=sandbox.refund_create_view),
        name="refunds",
    ),
    path(
        "v2/refunds/<str:refund_id>",
        sandbox.methods(GET=sandbox.refund_retrieve_view),
        name="refund",
    ),
    path(
        "oauth2/authorize",
        sandbox.methods(GET=sandbox.oauth_authorize_view),
        name="oauth-authorize",
    ),
    path("oauth2/token", sandbox.methods(POST=sandbox.oauth_token_view), name="oauth-token"),
    path(
        "oauth2/token/status",
        sandbox.methods(POST=sandbox.oauth_token_status_view),
        name="oauth-token-status",
    ),
    path("oauth2/revoke", sandbox.methods(POST=sandbox.oauth_revoke_view), name="oauth-revoke"),
    path(
        "_sandbox/orders/<str:order_id>/complete",
        sandbox.methods(POST=sandbox.order_complete_view),
        name="order-complete",
    ),
    path(
        "_sandbox/faults",
        sandbox.methods(
            GET=sandbox.faults_view, POST=sandbox.faults_view, DELETE=sandbox.faults_view
        ),
        name="faults",
    ),
    re_path(r"^", sandbox.route_not_found),
]
