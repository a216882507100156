import json
import secrets
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand

from accounts.services import demo_data_ensure


class Command(BaseCommand):
    help = "Create (or keep) the demo organization, operator and tenant user; write var/demo.json."

    def add_arguments(self, parser):
        parser.add_argument("--url", default="http://127.0.0.1:8000")
        parser.add_argument("--output", default=str(settings.VAR_DIR / "demo.json"))

    def handle(self, *args, url, output, **options):
        output_path = Path(output)
        previous = json.loads(output_path.read_text()) if output_path.exists() else {}
        # Keep earlier passwords so scripts and browsers that saved them keep working.
        operator_password = previous.get("operator", {}).get("password") or secrets.token_urlsafe(
            12
        )
        tenant_password = previous.get("tenant", {}).get("password") or secrets.token_urlsafe(12)
        demo = demo_data_ensure(
            operator_password=operator_password,
            tenant_password=tenant_password,
            # Tokens are stored hashed: the file is the one place that still has the raw one.
            api_token=previous.get("tenant", {}).get("api_token"),
        )
        if settings.SANDBOX_ENABLED:
            from catalog.services import classification_ensure
            from integrations.base.connections import sandbox_connection_ensure
            from integrations.crm import services as crm_services
            from integrations.pos.square.traffic import CATALOGUE_CLASSIFICATION
            from invoices.firs.sandbox import sandbox_organization_connect

            # The demo organization signs its invoices with the FIRS sandbox this server runs.
            sandbox_organization_connect(
                organization=demo.organization, base_url=f"{url}/sandbox/firs"
            )
            # The demo shop's items classified as the shop would: rice exempt, the rest
            # standard-rated (Square sales name no catalog ids, so items are known by name).
            for name, (hs_code, category, treatment) in CATALOGUE_CLASSIFICATION.items():
                classification_ensure(
                    organization=demo.organization,
                    platform="square",
                    item_key=name,
                    name=name,
                    hs_code=hs_code,
                    product_category=category,
                    vat_treatment=treatment,
                )
            connections = [
                _connection_entry(
                    sandbox_connection_ensure(
                        family="pos",
                        platform="square",
                        organization=demo.organization,
                        user=demo.tenant,
                        site_url=url,
                    )
                ),
                _connection_entry(
                    sandbox_connection_ensure(
                        family="crm",
                        platform="hubspot",
                        organization=demo.organization,
                        user=demo.tenant,
                        site_url=url,
                        create=crm_services.connection_sandbox_create,
                    )
                ),
            ]
        else:
            connections = previous.get("connections", [])
        document = {
            "url": url,
            "operator": {"username": demo.operator.username, "password": operator_password},
            "tenant": {
                "username": demo.tenant.username,
                "password": tenant_password,
                "api_token": demo.api_token,
                "organization_id": demo.organization.pk,
            },
            "connections": connections,
        }
        output_path.parent.mkdir(parents=True, exist_ok=True)
        output_path.write_text(json.dumps(document, indent=2) + "\n")
        output_path.chmod(0o600)
        self.stdout.write(f"demo data ready; credentials in {output_path}")


def _connection_entry(connection) -> dict:
    """A connection in var/demo.json: what a script needs to send it signed webhooks (the file
    is the operator's, 0600)."""
    return {
        "family": connection.family,
        "platform": connection.platform,
        "id": str(connection.pk),
        "account_id": connection.account_id,
        "webhook_url": connection.webhook_url,
        "notification_url": connection.notification_url,
        "signing_secret": connection.webhook_secret,
    }
