"""HubSpot accounts (portals) for connections, and what HubSpot's developer console shows."""

from integrations.base.sandbox_accounts import SandboxAccount, SandboxProvisioner, sandbox_base_url
from sandboxes.hubspot.models import HubSpotSandboxPipelineStage, HubSpotSandboxPortal
from sandboxes.hubspot.server import sandbox_portal_create

# The sandbox's shop sells POS hardware and its installation and support.
MAPPING_DEFAULTS = {
    "default_hs_code": "8470.5000",
    "default_product_category": "Point-of-sale equipment and services",
}


class HubSpotProvisioner(SandboxProvisioner):
    family = "crm"
    platform = "hubspot"

    def account_create(self, *, site_url: str) -> SandboxAccount:
        site_url = site_url.rstrip("/")
        portal = sandbox_portal_create(
            redirect_uri=f"{site_url}/integrations/oauth/crm/hubspot/callback/"
        )
        won = HubSpotSandboxPipelineStage.objects.filter(
            pipeline__portal=portal, is_closed=True, probability=1
        ).order_by("pipeline__display_order", "display_order")
        return SandboxAccount(
            account_id=str(portal.hub_id),
            credentials={"private_app_token": portal.private_app_token},
            base_url=sandbox_base_url(site_url=site_url, platform=self.platform),
            connection_fields={
                "connection_settings": dict(MAPPING_DEFAULTS),
                # HubSpot signs webhooks with the account's app's client secret.
                "webhook_secret": portal.client_secret,
                "won_stage_ids": list(won.values_list("stage_id", flat=True)),
            },
        )

    def account_exists(self, *, account_id: str) -> bool:
        return (
            account_id.isdigit()
            and HubSpotSandboxPortal.objects.filter(hub_id=int(account_id)).exists()
        )

    def console(self, *, connection) -> dict:
        """The private app's token, and the public app whose client secret signs webhooks."""
        portal = HubSpotSandboxPortal.objects.get(hub_id=int(connection.account_id))
        return {
            "sandbox_access_token": portal.private_app_token,
            "webhook_credentials": {
                "app_id": portal.app_id,
                "client_id": portal.client_id,
                "client_secret": portal.client_secret,
                "target_url": connection.webhook_url,
            },
        }
