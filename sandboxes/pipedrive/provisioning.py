"""Pipedrive companies for connections, and what Pipedrive's Developer Hub would show."""

from django.db import transaction

from integrations.base.sandbox_accounts import SandboxAccount, SandboxProvisioner, sandbox_base_url
from integrations.crm.pipedrive.connector import WEBHOOK_ACTIONS
from integrations.crm.pipedrive.signatures import WEBHOOK_USER, webhook_password
from sandboxes.pipedrive.models import PipedriveSandboxCompany, PipedriveSandboxWebhook
from sandboxes.pipedrive.server import sandbox_company_create, webhook_json

# The sandbox's sales team sells POS hardware and its installation and support.
MAPPING_DEFAULTS = {
    "default_hs_code": "8470.5000",
    "default_product_category": "Point-of-sale equipment and services",
}


class PipedriveProvisioner(SandboxProvisioner):
    family = "crm"
    platform = "pipedrive"

    def account_create(self, *, site_url: str) -> SandboxAccount:
        site_url = site_url.rstrip("/")
        company = sandbox_company_create(
            redirect_uri=f"{site_url}/integrations/oauth/crm/pipedrive/callback/"
        )
        return SandboxAccount(
            account_id=str(company.company_id),
            credentials={"api_token": company.api_token},
            base_url=sandbox_base_url(site_url=site_url, platform=self.platform),
            connection_fields={
                "connection_settings": dict(MAPPING_DEFAULTS),
                # The organizations' custom field that holds the buyer's TIN.
                "tin_property": company.tin_field_key,
                "won_stage_ids": ["won"],
            },
        )

    def connection_ready(self, *, connection) -> None:
        """The deal webhooks our connect subscribes (``POST /v1/webhooks``), to the
        connection's URL with its Basic credentials, in place of any to an earlier URL."""
        company = PipedriveSandboxCompany.objects.get(company_id=int(connection.account_id))
        url = connection.notification_url
        with transaction.atomic():
            PipedriveSandboxWebhook.objects.filter(company=company).delete()
            for action in WEBHOOK_ACTIONS:
                PipedriveSandboxWebhook.objects.create(
                    company=company,
                    subscription_url=url,
                    event_action=action,
                    event_object="deal",
                    http_auth_user=WEBHOOK_USER,
                    http_auth_password=webhook_password(secret=connection.webhook_secret, url=url),
                    version="2.0",
                )

    def account_exists(self, *, account_id: str) -> bool:
        return (
            account_id.isdigit()
            and PipedriveSandboxCompany.objects.filter(company_id=int(account_id)).exists()
        )

    def console(self, *, connection) -> dict:
        """The personal API token, and the webhooks our connect made with their credentials'
        user (the password is derived from the connection's signing secret)."""
        company = PipedriveSandboxCompany.objects.get(company_id=int(connection.account_id))
        return {
            "sandbox_access_token": company.api_token,
            "webhook_credentials": {
                "subscription_url": connection.notification_url,
                "webhooks": [webhook_json(hook) for hook in company.webhooks.order_by("pk")],
                "tin_custom_field": company.tin_field_key,
            },
        }
