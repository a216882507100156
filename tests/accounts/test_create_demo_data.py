import json

import pytest
from django.core.management import call_command
from django.utils import timezone

from accounts.api_tokens.models import ApiToken
from accounts.models import Organization, User
from catalog.models import ProductClassification
from integrations.base import sandbox_accounts
from integrations.crm.models import CRMConnection
from integrations.pos.models import POSConnection
from sandboxes.firs.models import FirsSandboxCredential
from sandboxes.hubspot.models import HubSpotSandboxPortal
from sandboxes.square.models import SquareSandboxMerchant


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

    # One connection per registered sandbox, each with what its platform's console shows.
    assert sorted(entry["platform"] for entry in demo["connections"]) == sorted(
        provisioner.platform for provisioner in sandbox_accounts.provisioners()
    )
    for entry in demo["connections"]:
        assert entry["sandbox_access_token"]
        assert entry["webhook_credentials"]
    (square,) = (entry for entry in demo["connections"] if entry["platform"] == "square")
    merchant = SquareSandboxMerchant.objects.get(merchant_id=square["account_id"])
    assert square["sandbox_access_token"] == merchant.access_token
    assert square["webhook_credentials"] == {
        "notification_url": square["notification_url"],
        "signature_key": square["signing_secret"],
    }

    # HubSpot signs with the app's client secret; the connection knows the won stages.
    (hubspot,) = (entry for entry in demo["connections"] if entry["platform"] == "hubspot")
    crm = CRMConnection.objects.get(pk=hubspot["id"])
    portal = HubSpotSandboxPortal.objects.get(hub_id=int(crm.account_id))
    assert hubspot["sandbox_access_token"] == portal.private_app_token
    assert hubspot["signing_secret"] == crm.webhook_secret == portal.client_secret
    assert hubspot["webhook_credentials"]["client_secret"] == portal.client_secret
    assert crm.won_stage_ids == ["closedwon"]

    # The demo shop's items are classified: rice exempt, Milo and yoghurt standard-rated.
    treatments = dict(
        ProductClassification.objects.filter(organization=organization).values_list(
            "item_key", "vat_treatment"
        )
    )
    assert treatments["Mama Gold Rice 5kg"] == "exempt"
    assert treatments["Milo Refill 500g"] == treatments["Hollandia Yoghurt 1L"] == "standard"

    # Re-running keeps the logins (the same hashes, so browsers stay signed in) and leaves one
    # working sandbox key.
    hashes = dict(User.objects.values_list("username", "password"))
    call_command("create_demo_data", url="http://127.0.0.1:8123", output=str(output))
    again = json.loads(output.read_text())
    assert again["tenant"]["password"] == demo["tenant"]["password"]
    assert dict(User.objects.values_list("username", "password")) == hashes
    assert FirsSandboxCredential.objects.count() == 1
    assert output.stat().st_mode & 0o077 == 0
    assert [entry["id"] for entry in again["connections"]] == [
        entry["id"] for entry in demo["connections"]
    ]


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


@pytest.mark.django_db
def test_a_sandbox_connection_whose_account_is_gone_is_replaced(tmp_path):
    """A database migrated before the sandboxes had their own apps lost the old accounts."""
    output = tmp_path / "demo.json"
    call_command("create_demo_data", url="http://127.0.0.1:8123", output=str(output))
    (square,) = (
        e for e in json.loads(output.read_text())["connections"] if e["platform"] == "square"
    )
    SquareSandboxMerchant.objects.filter(merchant_id=square["account_id"]).delete()

    call_command("create_demo_data", url="http://127.0.0.1:8123", output=str(output))
    (again,) = (
        e for e in json.loads(output.read_text())["connections"] if e["platform"] == "square"
    )
    assert again["id"] != square["id"]
    assert (
        SquareSandboxMerchant.objects.get(merchant_id=again["account_id"]).access_token
        == (again["sandbox_access_token"])
    )
    assert not POSConnection.objects.get(pk=square["id"]).is_active
