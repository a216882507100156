import json

import pytest
from django.core.management import call_command
from django.utils import timezone

from accounts.api_tokens.models import ApiToken
from accounts.models import Organization
from catalog.models import ProductClassification
from integrations.base.connections import connector_for
from integrations.crm.models import CRMConnection
from invoices.models import FirsSandboxCredential


@pytest.mark.django_db
def test_demo_data_writes_the_documented_file_and_wires_the_firs_sandbox(tmp_path):
    output = tmp_path / "demo.json"
    call_command("create_demo_data", url="http://127.0.0.1:8123", output=str(output))
    demo = json.loads(output.read_text())
    assert set(demo) == {"url", "operator", "tenant", "connections"}
    assert set(demo["tenant"]) == {"username", "password", "api_token", "organization_id"}
    organization = Organization.objects.get(pk=demo["tenant"]["organization_id"])
    assert organization.firs_base_url == "http://127.0.0.1:8123/sandbox/firs"
    credential = FirsSandboxCredential.objects.get()
    assert credential.api_key == organization.firs_api_key
    assert credential.secret_matches(organization.firs_api_secret)

    # The HubSpot connection is made by the CRM family's own maker: signed webhooks, won stages.
    (hubspot,) = (entry for entry in demo["connections"] if entry["platform"] == "hubspot")
    crm = CRMConnection.objects.get(pk=hubspot["id"])
    sandbox = connector_for(crm).sandbox_settings()
    assert hubspot["signing_secret"] == crm.webhook_secret == sandbox.signing_secret
    assert crm.won_stage_ids == sandbox.won_stage_ids != []

    # The demo shop's items are classified: rice exempt, Milo and yoghurt standard-rated.
    treatments = dict(
        ProductClassification.objects.filter(organization=organization).values_list(
            "item_key", "vat_treatment"
        )
    )
    assert treatments["Mama Gold Rice 5kg"] == "exempt"
    assert treatments["Milo Refill 500g"] == treatments["Hollandia Yoghurt 1L"] == "standard"

    # Re-running keeps the logins and leaves one working sandbox key.
    call_command("create_demo_data", url="http://127.0.0.1:8123", output=str(output))
    again = json.loads(output.read_text())
    assert again["tenant"]["password"] == demo["tenant"]["password"]
    assert FirsSandboxCredential.objects.count() == 1
    assert output.stat().st_mode & 0o077 == 0


@pytest.mark.django_db
def test_demo_api_token_is_kept_while_it_works_and_replaced_once_revoked(tmp_path, api_client):
    """Tokens are stored hashed, so the token in var/demo.json is the only copy: a re-run keeps
    it while it works; once revoked, a new one is written and the older demo-made ones stop."""
    output = tmp_path / "demo.json"

    def run() -> str:
        call_command("create_demo_data", url="http://127.0.0.1:8123", output=str(output))
        return json.loads(output.read_text())["tenant"]["api_token"]

    def answer(token: str) -> int:
        return api_client.get(
            "/api/v1/organizations/", HTTP_AUTHORIZATION=f"Token {token}"
        ).status_code

    first = run()
    assert answer(first) == 200
    assert run() == first
    assert ApiToken.objects.count() == 1

    ApiToken.objects.update(revoked_at=timezone.now())
    second = run()
    assert second != first and answer(second) == 200

    # A file from another database (its token unknown here) gets a new token too.
    document = json.loads(output.read_text())
    document["tenant"]["api_token"] = "a-token-this-database-never-issued"
    output.write_text(json.dumps(document))
    third = run()
    assert answer(third) == 200 and answer(second) == 401
    assert ApiToken.objects.filter(revoked_at__isnull=True).count() == 1
