"""The Lightspeed sandbox under /sandbox/lightspeed/: a store's paths (one host per store at
Lightspeed; here the bearer token names the store), the consent page, then the controls."""

from sandboxes.kit.endpoints import route
from sandboxes.lightspeed import server
from sandboxes.lightspeed.api import api, oauth

app_name = "lightspeed_sandbox"

urlpatterns = api.urls(
    route("connect", "connect", GET=oauth.authorize_view),
    route("api/1.0/token", "token", POST=oauth.token_view),
    route("api/register_sales", "register-sales", POST=server.register_sales_view),
    route("api/webhooks", "webhooks", GET=server.webhooks_view, POST=server.webhooks_view),
    route("api/webhooks/<str:webhook_id>", "webhook", DELETE=server.webhook_view),
    route("api/2.0/sales", "sales", GET=server.sales_view),
    route("api/2.0/sales/<str:sale_id>", "sale", GET=server.sale_view),
    route("api/2.0/search", "search", GET=server.search_view),
    route("api/2.0/outlets", "outlets", GET=server.outlets_view),
    route("api/2.0/outlets/<str:object_id>", "outlet", GET=server.outlet_view),
    route("api/2.0/registers", "registers", GET=server.registers_view),
    route("api/2.0/taxes", "taxes", GET=server.taxes_view),
    route("api/2.0/products", "products", GET=server.products_view),
    route("api/2.0/products/<str:object_id>", "product", GET=server.product_view),
    route("api/2.0/customers", "customers", GET=server.customers_view),
    route("api/2.0/customers/<str:object_id>", "customer", GET=server.customer_view),
    route("api/2.0/payment_types", "payment-types", GET=server.payment_types_view),
    route("api/2.0/retailer", "retailer", GET=server.retailer_view),
    api.faults_route(),
)
