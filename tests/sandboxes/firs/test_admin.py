"""The FIRS sandbox's admin: its keys' secrets write-only, faults switched at once, view-only
invoices."""

import pytest

from sandboxes.firs.models import FirsSandboxCredential, FirsSandboxInvoice
from sandboxes.firs.server import sandbox_credential_create


@pytest.mark.django_db
def test_sandbox_credential_pages_never_show_the_secret_or_its_digest(admin_client):
    credential = sandbox_credential_create(
        api_key="canary-sandbox-key-0042", api_secret="canary-sandbox-secret-77"
    )
    FirsSandboxCredential.objects.filter(pk=credential.pk).update(accepted_irns=5)
    for url in (
        "/admin/sandbox_firs/firssandboxcredential/",
        f"/admin/sandbox_firs/firssandboxcredential/{credential.pk}/change/",
    ):
        page = admin_client.get(url)
        assert page.status_code == 200
        assert b"canary-sandbox-secret" not in page.content
        assert credential.api_secret_digest.encode() not in page.content
        assert b"canary-sandbox-key" not in page.content
        assert b"0042" in page.content  # the key's last four, to tell keys apart
    change = admin_client.get(f"/admin/sandbox_firs/firssandboxcredential/{credential.pk}/change/")
    assert set(change.context["adminform"].form.fields) == {
        "api_secret",
        "label",
        "business_id",
        "service_id",
        "ambiguous_duplicates",
    }


@pytest.mark.django_db
def test_sandbox_credential_is_added_with_a_write_only_secret(admin_client):
    added = admin_client.post(
        "/admin/sandbox_firs/firssandboxcredential/add/",
        {"api_key": "demo-key-1", "api_secret": "demo-secret-1", "label": "demo", "service_id": ""},
    )
    assert added.status_code == 302, added.content
    credential = FirsSandboxCredential.objects.get(api_key="demo-key-1")
    assert credential.secret_matches("demo-secret-1")
    kept = admin_client.post(
        f"/admin/sandbox_firs/firssandboxcredential/{credential.pk}/change/",
        {"api_secret": "", "label": "renamed", "service_id": ""},
    )
    assert kept.status_code == 302
    credential.refresh_from_db()
    assert credential.label == "renamed" and credential.secret_matches("demo-secret-1")
    refused = admin_client.post(
        "/admin/sandbox_firs/firssandboxcredential/add/",
        {"api_key": "demo-key-2", "api_secret": ""},
    )
    assert refused.status_code == 200
    assert not FirsSandboxCredential.objects.filter(api_key="demo-key-2").exists()


@pytest.mark.django_db
def test_sandbox_invoices_are_view_only(admin_client):
    credential = sandbox_credential_create(api_key="k-1", api_secret="s-1")
    held = FirsSandboxInvoice.objects.create(
        credential=credential,
        irn="POS1-TPT12345-20261120",
        business_id="3f6c1a2b-8d4e-4f9a-b1c2-d3e4f5a6b7c8",
        payload={"irn": "POS1-TPT12345-20261120"},
        status="signed",
    )
    page = admin_client.get(f"/admin/sandbox_firs/firssandboxinvoice/{held.pk}/change/")
    assert page.status_code == 200
    assert b'name="_save"' not in page.content
    assert b"&quot;irn&quot;" in page.content
