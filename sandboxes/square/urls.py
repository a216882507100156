"""The Square sandbox under /sandbox/square/: Square's paths, then the sandbox's controls."""

from sandboxes.kit.endpoints import route
from sandboxes.square import server
from sandboxes.square.api import api, oauth, oauth_revoke_view, oauth_token_status_view

app_name = "square_sandbox"

urlpatterns = api.urls(
    route("v2/locations", "locations", GET=server.locations_view),
    route("v2/orders", "orders", POST=server.order_create_view),
    route(
        "v2/orders/batch-retrieve", "orders-batch-retrieve", POST=server.orders_batch_retrieve_view
    ),
    route("v2/orders/search", "orders-search", POST=server.orders_search_view),
    route(
        "v2/orders/<str:order_id>",
        "order",
        GET=server.order_retrieve_view,
        PUT=server.order_update_view,
    ),
    route(
        "v2/payments", "payments", GET=server.payments_list_view, POST=server.payment_create_view
    ),
    route("v2/payments/<str:payment_id>", "payment", GET=server.payment_retrieve_view),
    route(
        "v2/payments/<str:payment_id>/complete",
        "payment-complete",
        POST=server.payment_complete_view,
    ),
    route("v2/refunds", "refunds", GET=server.refunds_list_view, POST=server.refund_create_view),
    route("v2/refunds/<str:refund_id>", "refund", GET=server.refund_retrieve_view),
    route("oauth2/authorize", "oauth-authorize", GET=oauth.authorize_view),
    route("oauth2/token", "oauth-token", POST=oauth.token_view),
    route("oauth2/token/status", "oauth-token-status", POST=oauth_token_status_view),
    route("oauth2/revoke", "oauth-revoke", POST=oauth_revoke_view),
    route(
        "_sandbox/orders/<str:order_id>/complete",
        "order-complete",
        POST=server.order_complete_view,
    ),
    api.faults_route(),
)
