"""Square seller accounts for connections, and what Square's developer console shows for one."""

from catalog.services import classification_ensure
from integrations.base.sandbox_accounts import SandboxAccount, SandboxProvisioner, sandbox_base_url
from sandboxes.square.api import sandbox_merchant_create
from sandboxes.square.models import SquareSandboxMerchant
from sandboxes.square.traffic import CATALOGUE_CLASSIFICATION

# The sandbox's shop sells groceries; a real tenant sets its own defaults.
MAPPING_DEFAULTS = {"default_hs_code": "1006.3000", "default_product_category": "Food"}


class SquareProvisioner(SandboxProvisioner):
    family = "pos"
    platform = "square"

    def account_create(self, *, site_url: str) -> SandboxAccount:
        merchant = sandbox_merchant_create()
        location = merchant.locations.first()
        return SandboxAccount(
            account_id=merchant.merchant_id,
            credentials={"access_token": merchant.access_token},
            base_url=sandbox_base_url(site_url=site_url, platform=self.platform),
            connection_fields={
                "external_location_id": location.location_id,
                "location_name": location.name,
                "connection_settings": dict(MAPPING_DEFAULTS),
            },
        )

    def account_exists(self, *, account_id: str) -> bool:
        return SquareSandboxMerchant.objects.filter(merchant_id=account_id).exists()

    def console(self, *, connection) -> dict:
        """A Square webhook subscription is a notification URL and its signature key, which the
        seller copies into the connection; Square signs the URL and the body with it."""
        merchant = SquareSandboxMerchant.objects.get(merchant_id=connection.account_id)
        return {
            "sandbox_access_token": merchant.access_token,
            "webhook_credentials": {
                "notification_url": connection.notification_url,
                "signature_key": connection.webhook_secret,
            },
        }

    def organization_prepare(self, *, organization) -> None:
        """The shop's items classified as the shop would: rice exempt, the rest standard-rated
        (the sandbox's sales name no catalog ids, so items are known by name). A tenant's own
        later edits are kept."""
        for name, (hs_code, category, treatment) in CATALOGUE_CLASSIFICATION.items():
            classification_ensure(
                organization=organization,
                platform=self.platform,
                item_key=name,
                name=name,
                hs_code=hs_code,
                product_category=category,
                vat_treatment=treatment,
            )
