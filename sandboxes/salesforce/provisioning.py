"""Salesforce orgs for connections, and what the org's Setup would show."""

import json
import secrets
from datetime import timedelta

from django.utils import timezone

from integrations.base.sandbox_accounts import SandboxAccount, SandboxProvisioner, sandbox_base_url
from sandboxes.salesforce.api import oauth, sandbox_public_app
from sandboxes.salesforce.models import SalesforceSandboxOrg
from sandboxes.salesforce.server import sandbox_org_create

TIN_FIELD = "TIN__c"
EXEMPT_FIELD = "VAT_Exempt__c"
IRN_FIELD = "FIRS_IRN__c"
# The sandbox's sales team sells POS hardware and its installation and support.
MAPPING_DEFAULTS = {
    "default_hs_code": "8470.5000",
    "default_product_category": "Point-of-sale equipment and services",
    "prices_include_vat": False,
    "vat_rate": "7.5",
    "exempt_field": EXEMPT_FIELD,
    "irn_field": IRN_FIELD,
}


class SalesforceProvisioner(SandboxProvisioner):
    family = "crm"
    platform = "salesforce"

    def account_create(self, *, site_url: str) -> SandboxAccount:
        site_url = site_url.rstrip("/")
        base_url = sandbox_base_url(site_url=site_url, platform=self.platform)
        org = sandbox_org_create(
            redirect_uri=f"{site_url}/integrations/oauth/crm/salesforce/callback/"
        )
        token = oauth.token_model.objects.create(
            account=org,
            client_id=sandbox_public_app()[0],
            access_token=f"{org.org_id[:15]}!{secrets.token_urlsafe(40)}",
            refresh_token=secrets.token_urlsafe(48),
            scopes=["api", "refresh_token"],
            expires_at=timezone.now() + timedelta(seconds=org.session_seconds),
        )
        return SandboxAccount(
            account_id=org.org_id,
            credentials={
                "access_token": token.access_token,
                "refresh_token": token.refresh_token,
                "instance_url": base_url,
            },
            base_url=base_url,
            connection_fields={
                "connection_settings": dict(MAPPING_DEFAULTS),
                "tin_property": TIN_FIELD,
                "won_stage_ids": ["IsWon"],
            },
        )

    def connection_ready(self, *, connection) -> None:
        """The org's Outbound Message posts to the connection's secret URL, and its API is
        this site's sandbox (the site may have moved to another port)."""
        SalesforceSandboxOrg.objects.filter(org_id=connection.account_id).update(
            outbound_url=connection.webhook_url
        )
        credentials = json.loads(connection.credentials_encrypted or "{}")
        if credentials and credentials.get("instance_url") != connection.base_url:
            credentials["instance_url"] = connection.base_url
            connection.credentials_encrypted = json.dumps(credentials)
            connection.save(update_fields=["credentials_encrypted"])

    def account_exists(self, *, account_id: str) -> bool:
        return SalesforceSandboxOrg.objects.filter(org_id=account_id).exists()

    def console(self, *, connection) -> dict:
        org = SalesforceSandboxOrg.objects.get(org_id=connection.account_id)
        credentials = json.loads(connection.credentials_encrypted or "{}")
        return {
            "sandbox_access_token": credentials.get("access_token", ""),
            "webhook_credentials": {
                "outbound_message_url": org.outbound_url,
                "organization_id": org.org_id,
                "tin_custom_field": TIN_FIELD,
                "irn_custom_field": IRN_FIELD,
            },
        }
