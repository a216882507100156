"""Odoo sandbox databases for connections, and what Odoo's settings would show for one."""

from urllib.parse import urlsplit

from integrations.base.sandbox_accounts import SandboxAccount, SandboxProvisioner, sandbox_base_url
from sandboxes.odoo.models import OdooSandboxDatabase
from sandboxes.odoo.server import database_create

# The sandbox company sells office equipment and its installation and support.
MAPPING_DEFAULTS = {
    "default_hs_code": "8470.5000",
    "default_product_category": "Office equipment and services",
}


class OdooProvisioner(SandboxProvisioner):
    family = "erp"
    platform = "odoo"

    def account_create(self, *, site_url: str) -> SandboxAccount:
        database = database_create()
        base_url = sandbox_base_url(site_url=site_url, platform=self.platform)
        return SandboxAccount(
            account_id=f"{database.name}@{urlsplit(site_url).hostname}"[:64],
            credentials={
                "base_url": base_url,
                "database": database.name,
                "login": database.login,
                "api_key": database.api_key,
            },
            base_url=base_url,
            # The change search runs every minute: Odoo's webhooks are never retried.
            connection_fields={
                "sync_every_minutes": 1,
                "connection_name": database.name,
                "connection_settings": dict(MAPPING_DEFAULTS),
            },
        )

    def account_exists(self, *, account_id: str) -> bool:
        name = account_id.rpartition("@")[0]
        return OdooSandboxDatabase.objects.filter(name=name).exists()

    def console(self, *, connection) -> dict:
        """The user's API key, and the automation rule pointed at the connection's URL (as the
        tenant sets it up in Odoo)."""
        name = connection.account_id.rpartition("@")[0]
        database = OdooSandboxDatabase.objects.get(name=name)
        if database.webhook_url != connection.webhook_url:
            database.webhook_url = connection.webhook_url
            database.save(update_fields=["webhook_url"])
        return {
            "sandbox_access_token": database.api_key,
            "webhook_credentials": {
                "database": database.name,
                "login": database.login,
                "automation_rule_url": connection.webhook_url,
            },
        }
