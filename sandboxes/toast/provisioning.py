"""Toast restaurants for connections, and what Toast's developer portal shows for one."""

from integrations.base.sandbox_accounts import SandboxAccount, SandboxProvisioner, sandbox_base_url
from sandboxes.toast.api import sandbox_restaurant_create
from sandboxes.toast.models import ToastSandboxRestaurant

# The sandbox's restaurant sells prepared meals; a real tenant sets its own defaults.
MAPPING_DEFAULTS = {"default_hs_code": "2106.9000", "default_product_category": "Restaurant meals"}


class ToastProvisioner(SandboxProvisioner):
    family = "pos"
    platform = "toast"

    def account_create(self, *, site_url: str) -> SandboxAccount:
        restaurant = sandbox_restaurant_create()
        return SandboxAccount(
            account_id=restaurant.restaurant_guid,
            credentials={
                "client_id": restaurant.client_id,
                "client_secret": restaurant.client_secret,
                "restaurant_guid": restaurant.restaurant_guid,
            },
            base_url=sandbox_base_url(site_url=site_url, platform=self.platform),
            connection_fields={
                "location_name": restaurant.name,
                "connection_settings": dict(MAPPING_DEFAULTS),
                # Toast gives a webhook up after three tries: the poll is the fallback.
                "sync_every_minutes": 1,
            },
        )

    def connection_ready(self, *, connection) -> None:
        """The restaurant's orders webhook subscription points at the connection's endpoint."""
        ToastSandboxRestaurant.objects.filter(restaurant_guid=connection.account_id).update(
            webhook_url=connection.webhook_url, webhook_secret=connection.webhook_secret
        )

    def account_exists(self, *, account_id: str) -> bool:
        return ToastSandboxRestaurant.objects.filter(restaurant_guid=account_id).exists()

    def console(self, *, connection) -> dict:
        """The machine client's secret (what the tenant types in, with its id and the
        restaurant's GUID), and the webhook subscription: a URL and its secret, which Toast's
        integrations team sets up."""
        restaurant = ToastSandboxRestaurant.objects.get(restaurant_guid=connection.account_id)
        return {
            "sandbox_access_token": restaurant.client_secret,
            "client_id": restaurant.client_id,
            "restaurant_guid": restaurant.restaurant_guid,
            "webhook_credentials": {
                "webhook_url": connection.webhook_url,
                "secret": connection.webhook_secret,
            },
        }
