"""Lightspeed stores for connections, and what a connected store shows."""

from integrations.base.sandbox_accounts import SandboxAccount, SandboxProvisioner, sandbox_base_url
from sandboxes.lightspeed.api import new_id, oauth, sandbox_oauth_client, sandbox_store_create
from sandboxes.lightspeed.models import LightspeedSandboxStore, LightspeedSandboxWebhook

# The sandbox's shop sells groceries; a real tenant sets its own defaults.
MAPPING_DEFAULTS = {
    "default_hs_code": "1006.3000",
    "default_product_category": "Food",
    "tin_custom_field": "custom_field_1",
}
# Five tills: a budget of 1,550 requests per 5 minutes.
DEMO_REGISTERS = 5


class LightspeedProvisioner(SandboxProvisioner):
    family = "pos"
    platform = "lightspeed"

    def account_create(self, *, site_url: str) -> SandboxAccount:
        """A new store, connected as our OAuth app would be (so its webhooks are signed with the
        app's client secret), its tokens issued as the code exchange issues them."""
        store = sandbox_store_create(registers=DEMO_REGISTERS)
        client_id, client_secret = sandbox_oauth_client()
        token = oauth.token_issue(
            account=store,
            client_id=client_id,
            scopes=[],
            is_pkce=False,
            refresh_token=oauth.new_refresh_token(),
            refresh_token_lifetime=None,
            options={},
        )
        outlet = store.objects_held.get(kind="outlet").data
        return SandboxAccount(
            account_id=store.domain_prefix,
            credentials={
                "access_token": token.access_token,
                "refresh_token": token.refresh_token,
                "domain_prefix": store.domain_prefix,
            },
            base_url=sandbox_base_url(site_url=site_url, platform=self.platform),
            connection_fields={
                "token_expires_at": token.expires_at,
                "webhook_secret": client_secret,
                "external_location_id": outlet["id"],
                "location_name": outlet["name"],
                "connection_settings": dict(MAPPING_DEFAULTS),
                "sync_every_minutes": 1,
            },
        )

    def account_exists(self, *, account_id: str) -> bool:
        return LightspeedSandboxStore.objects.filter(domain_prefix=account_id).exists()

    def connection_ready(self, *, connection) -> None:
        """The store's ``sale.update`` webhook to the connection, as our connect makes it."""
        store = LightspeedSandboxStore.objects.get(domain_prefix=connection.account_id)
        client_id, _secret = sandbox_oauth_client()
        LightspeedSandboxWebhook.objects.filter(store=store, client_id=client_id).delete()
        LightspeedSandboxWebhook.objects.create(
            store=store,
            webhook_id=new_id(),
            url=connection.webhook_url,
            type="sale.update",
            client_id=client_id,
        )

    def console(self, *, connection) -> dict:
        """Lightspeed signs an OAuth app's webhooks with the app's client secret."""
        store = LightspeedSandboxStore.objects.get(domain_prefix=connection.account_id)
        return {
            "sandbox_access_token": store.personal_token,
            "webhook_credentials": {
                "notification_url": connection.webhook_url,
                "signing_secret": connection.webhook_secret,
            },
        }
