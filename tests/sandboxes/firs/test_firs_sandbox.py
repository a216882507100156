"""The FIRS sandbox on its own: envelopes, validation, state and fault switches."""

import time

import pytest

from sandboxes.firs.models import FirsSandboxInvoice
from sandboxes.firs.server import sandbox_credential_create, sandbox_faults, sandbox_faults_set
from sandboxes.kit.models import SandboxFaults
from tests.sandboxes.firs.conftest import API_KEY, API_SECRET, IRN

pytestmark = pytest.mark.django_db

KEYS = {"HTTP_X_API_KEY": API_KEY, "HTTP_X_API_SECRET": API_SECRET}
BASE = "/sandbox/firs"


def post(client, path, body, **headers):
    return client.post(f"{BASE}{path}", body, content_type="application/json", **headers)


def test_health_answers_without_keys(client):
    response = client.get(f"{BASE}/api")
    assert response.status_code == 200
    assert response.json() == {"healthy": True}


@pytest.mark.parametrize(
    ("method", "path"),
    [("get", "/api/v1/nothing-here"), ("get", "/api/v1/invoice/sign"), ("delete", "/api")],
)
def test_unknown_routes_and_methods_get_the_mbs_404(client, method, path):
    response = getattr(client, method)(f"{BASE}{path}")
    assert response.status_code == 404
    assert response.json() == {
        "code": 404,
        "data": None,
        "message": "no route found for this path. kindly check your request and try again",
    }


@pytest.mark.parametrize(
    "headers",
    [{}, {"HTTP_X_API_KEY": API_KEY}, {**KEYS, "HTTP_X_API_SECRET": "wrong"}],
    ids=["no keys", "no secret", "wrong secret"],
)
def test_bad_keys_get_400_unable_to_validate_api_key(client, sandbox_credential, invoice, headers):
    response = post(client, "/api/v1/invoice/sign", invoice(), **headers)
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == 400
    assert body["data"] is None
    assert body["message"] == "error has occurred"
    assert body["error"]["handler"] == "handler"
    assert body["error"]["public_message"] == "unable to validate api key"
    assert set(body["error"]) == {"id", "handler", "public_message"}
    assert not FirsSandboxInvoice.objects.exists()


def test_resources_are_served_without_keys(client):
    for name in ("invoice-types", "tax-categories", "payment-means", "currencies"):
        response = client.get(f"{BASE}/api/v1/invoice/resources/{name}")
        assert response.status_code == 200
        assert response.json()["code"] == 200
        assert response.json()["data"]
    codes = [
        row["code"]
        for row in client.get(f"{BASE}/api/v1/invoice/resources/services-codes").json()["data"]
    ]
    assert "6202" in codes
    assert client.get(f"{BASE}/api/v1/invoice/resources/planets").status_code == 404


def _without(payload: dict, *path):
    target = payload
    for key in path[:-1]:
        target = target[key]
    del target[path[-1]]
    return payload


@pytest.mark.parametrize(
    ("change", "details"),
    [
        (
            lambda p: _without(p, "accounting_customer_party", "tin"),
            "invoicerequest.invoice.accountingcustomerparty.tin is required",
        ),
        (lambda p: p.update(business_id="31569"), "invalid UUID length: 5"),
        (
            lambda p: p["tax_total"][0]["tax_subtotal"][0]["tax_category"].update(id="VAT"),
            "invoicerequest.invoice.taxtotal[0].taxsubtotal[0].taxcategory.id must be a valid "
            "tax category, refer to the invoice resource apis",
        ),
        (
            lambda p: p.update(issue_date="14/01/2026"),
            "invoicerequest.invoice.issuedate must be a valid date value yyyy-mm-dd "
            "(e.g: 2024-04-29)",
        ),
        (
            lambda p: p["legal_monetary_total"].update(payable_amount="4278500.00"),
            "invoicerequest.invoice.legalmonetarytotal.payableamount must be a number",
        ),
        (
            lambda p: p.update(invoice_line=[]),
            "invoicerequest.invoice.invoiceline is required",
        ),
        (
            lambda p: p.update(irn="INV2026011401-ZZZZZZZZ-20260114"),
            "invoicerequest.invoice.irn does not match the irn template of this business",
        ),
        (
            lambda p: p.update(irn="INV-2026/011401-A7K3Q9ZD-20260114"),
            "invoicerequest.invoice.irn must follow the irn template "
            "{invoice number}-{service id}-{yyyymmdd}",
        ),
    ],
    ids=["no tin", "bad uuid", "tax category", "date", "string money", "no lines", "svc", "irn"],
)
def test_invalid_invoices_get_field_level_details(
    client, sandbox_credential, invoice, change, details
):
    payload = invoice()
    change(payload)
    response = post(client, "/api/v1/invoice/validate", payload, **KEYS)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["details"] == details
    assert error["public_message"].startswith("validation failed:")


def test_validate_remembers_the_invoice_without_registering_it(client, sandbox_credential, invoice):
    assert post(client, "/api/v1/invoice/validate", invoice(), **KEYS).status_code == 201
    stored = FirsSandboxInvoice.objects.get()
    assert stored.status == FirsSandboxInvoice.Status.VALIDATED
    assert client.get(f"{BASE}/api/v1/invoice/confirm/{IRN}", **KEYS).status_code == 404
    sandbox_credential.refresh_from_db()
    assert sandbox_credential.accepted_irns == 0


def test_irn_validate_checks_the_reference_and_reuse(client, sandbox_credential, invoice):
    body = {
        "business_id": invoice()["business_id"],
        "invoice_reference": "INV2026011401",
        "irn": IRN,
    }
    assert post(client, "/api/v1/invoice/irn/validate", body, **KEYS).json() == {
        "code": 200,
        "data": {"ok": True},
    }
    mismatched = post(
        client, "/api/v1/invoice/irn/validate", {**body, "invoice_reference": "INV9"}, **KEYS
    )
    assert mismatched.status_code == 400
    post(client, "/api/v1/invoice/sign", invoice(), **KEYS)
    reused = post(client, "/api/v1/invoice/irn/validate", body, **KEYS).json()
    assert reused["error"]["errors"] == [{"field": "invoice.irn", "message": "already exists"}]


def test_a_transmitted_invoice_is_confirmed_when_the_buyer_acknowledges(
    client, sandbox_credential, invoice
):
    post(client, "/api/v1/invoice/sign", invoice(), **KEYS)
    acknowledge = f"{BASE}/api/v1/invoice/transmit/{IRN}"
    assert client.patch(acknowledge, **KEYS).status_code == 400  # not transmitted yet
    assert client.post(acknowledge, **KEYS).json()["data"] == {"ok": True}
    assert client.post(acknowledge, **KEYS).status_code == 200  # transmit is idempotent
    assert client.patch(acknowledge, **KEYS).status_code == 200
    confirmed = client.get(f"{BASE}/api/v1/invoice/confirm/{IRN}", **KEYS).json()["data"]
    assert confirmed["entry_status"] == "confirmed"
    assert confirmed["transmitted"] and confirmed["delivered"] and confirmed["acknowledged"]


def test_unknown_irns_and_bad_payment_statuses_are_refused(client, sandbox_credential, invoice):
    missing = client.post(f"{BASE}/api/v1/invoice/transmit/NOPE1-{'A' * 8}-20260101", **KEYS)
    assert missing.status_code == 404
    assert "not found" in missing.json()["error"]["details"]
    post(client, "/api/v1/invoice/sign", invoice(), **KEYS)
    update = client.patch(
        f"{BASE}/api/v1/invoice/update/{IRN}",
        {"payment_status": "SETTLED"},
        content_type="application/json",
        **KEYS,
    )
    assert update.status_code == 400


def test_another_keys_invoices_are_invisible(client, sandbox_credential, invoice):
    sandbox_credential_create(api_key="other-key", api_secret="other-secret")
    post(client, "/api/v1/invoice/sign", invoice(), **KEYS)
    other = {"HTTP_X_API_KEY": "other-key", "HTTP_X_API_SECRET": "other-secret"}
    assert client.get(f"{BASE}/api/v1/invoice/confirm/{IRN}", **other).status_code == 404


def test_faults_are_switched_over_http_with_sandbox_keys(client, sandbox_credential):
    url = f"{BASE}/_sandbox/faults"
    assert client.get(url).status_code == 400  # the control endpoints need sandbox keys
    changed = client.put(
        url, {"server_error_rate": 1, "only_operations": "sign"}, "application/json", **KEYS
    )
    assert changed.json()["data"]["server_error_rate"] == 1
    assert sandbox_faults().server_error_rate == 1
    refused = client.put(url, {"platform_error_rate": 2}, "application/json", **KEYS)
    assert refused.status_code == 400
    assert client.put(url, {"bogus": 1}, "application/json", **KEYS).status_code == 400
    typo = client.put(url, {"only_operations": "sing"}, "application/json", **KEYS)
    assert typo.json()["error"]["details"] == "Unknown operations: sing"
    assert client.delete(url, **KEYS).json()["data"]["server_error_rate"] == 0
    stats = client.get(f"{BASE}/_sandbox/stats", **KEYS).json()["data"]
    assert stats == {
        "accepted_irns": 0,
        "duplicate_submissions": 0,
        "dropped_replies": 0,
        "invoices": {},
    }


def test_faults_apply_only_to_the_operations_named(client):
    sandbox_faults_set(server_error_rate=1, only_operations="sign,transmit")
    assert client.get(f"{BASE}/api").status_code == 200
    sandbox_faults_set(only_operations="")
    response = client.get(f"{BASE}/api")
    assert response.status_code == 503
    assert response["Retry-After"] == "1"


def test_faults_changed_anywhere_apply_to_the_next_request(client):
    sandbox_faults_set(server_error_rate=0)
    assert sandbox_faults().server_error_rate == 0  # now in the fault store's cache
    assert client.get(f"{BASE}/api").status_code == 200
    # Changed in the database behind the fault store's back (as another process's admin
    # would): the cached copy still says off, but MBS reads the switches afresh.
    SandboxFaults.objects.filter(sandbox="firs", account="").update(server_error_rate=1)
    assert sandbox_faults().server_error_rate == 0
    assert client.get(f"{BASE}/api").status_code == 503


def test_fault_rates_are_probabilities(client):
    sandbox_faults_set(server_error_rate=0.5)
    failures = sum(client.get(f"{BASE}/api").status_code == 503 for _ in range(200))
    assert 60 < failures < 140


def test_latency_sleeps_instead_of_burning_cpu(client):
    sandbox_faults_set(latency_ms=300, latency_jitter_ms=20)
    wall, cpu = time.monotonic(), time.process_time()
    assert client.get(f"{BASE}/api").status_code == 200
    assert time.monotonic() - wall >= 0.28
    assert time.process_time() - cpu < 0.1
