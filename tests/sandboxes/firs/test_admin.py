"""The FIRS sandbox's admin: its keys' secrets write-only, faults switched at once, view-only
invoices."""

import pytest
from django.core.cache import cache

from sandboxes.firs.models import FirsSandboxCredential, FirsSandboxFaults, FirsSandboxInvoice
from sandboxes.firs.server import FAULTS_CACHE_KEY, sandbox_credential_create, sandbox_faults


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


def _faults_form(**changes):
    form = {
        "latency_ms": 0,
        "latency_jitter_ms": 0,
        "server_error_rate": 0,
        "server_error_status": 503,
        "rate_limit_rate": 0,
        "retry_after_seconds": 1,
        "busy_rate": 0,
        "dropped_reply_rate": 0,
        "dropped_reply_as": "close",
        "only_operations": "",
    }
    form.update(changes)
    return form


@pytest.mark.django_db
def test_sandbox_faults_switched_in_the_admin_apply_at_once(admin_client):
    cache.delete(FAULTS_CACHE_KEY)
    assert sandbox_faults().server_error_rate == 0  # now cached
    added = admin_client.post(
        "/admin/sandbox_firs/firssandboxfaults/add/",
        _faults_form(server_error_rate=1, only_operations="sign"),
    )
    assert added.status_code == 302, added.content
    assert FirsSandboxFaults.objects.get().pk == 1  # the row every process reads
    assert sandbox_faults().server_error_rate == 1
    assert admin_client.get("/admin/sandbox_firs/firssandboxfaults/add/").status_code == 403
    admin_client.post("/admin/sandbox_firs/firssandboxfaults/1/change/", _faults_form())
    assert sandbox_faults().server_error_rate == 0
    cache.delete(FAULTS_CACHE_KEY)


@pytest.mark.django_db
def test_sandbox_faults_refuse_unknown_operations(admin_client):
    page = admin_client.post(
        "/admin/sandbox_firs/firssandboxfaults/add/", _faults_form(only_operations="sign,teleport")
    )
    assert page.status_code == 200
    assert b"Unknown operations: teleport" in page.content
    assert not FirsSandboxFaults.objects.exists()


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
