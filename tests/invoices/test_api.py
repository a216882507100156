"""The tenant invoice API: scoping (T1), filters, pagination, files and the two actions."""

import datetime
import json
import uuid
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.utils import timezone

from accounts.api_tokens.services import api_token_create
from accounts.models import Membership
from invoices import services
from invoices.firs.client import SharedCircuitBreaker
from invoices.firs.errors import FirsRateLimited
from invoices.models import (
    Invoice,
    InvoiceLine,
    InvoiceParty,
    InvoiceStatusChange,
    InvoiceTaxSubtotal,
)
from sandboxes.firs.models import FirsSandboxInvoice
from sandboxes.firs.server import FAULTS_CACHE_KEY
from tests.factories import InvoiceFactory, MembershipFactory
from tests.invoices.pipeline_support import sandbox_organization, won_deal

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
ROUTES = [
    ("get", "/api/v1/invoices/{id}/"),
    ("get", "/api/v1/invoices/{id}/firs.json"),
    ("get", "/api/v1/invoices/{id}/qr.png"),
    ("get", "/api/v1/invoices/{id}/qr.svg"),
    ("post", "/api/v1/invoices/{id}/redrive/"),
    ("post", "/api/v1/invoices/{id}/mark-paid/"),
]


def _auth(client, user):
    issued = api_token_create(user=user, name="tests")
    client.credentials(HTTP_AUTHORIZATION=f"Token {issued.raw}")
    return client


def _call(client, method, url):
    return getattr(client, method)(url, {"reference": "ref-1"}, format="json")


@pytest.fixture
def enqueued(monkeypatch):
    """What the services would have put on a queue."""
    calls = []
    monkeypatch.setattr(
        services,
        "invoice_enqueue",
        lambda *, invoice, countdown=None: calls.append((invoice.pk, countdown)),
    )
    return calls


@pytest.fixture
def client_a(api_client, owner_a):
    return _auth(api_client, owner_a)


@pytest.fixture
def invoice_b(org_b):
    """Another tenant's invoice, with everything a route could reach: a payload, a stamp."""
    return InvoiceFactory(organization=org_b, signed=True)


# --- T1: another tenant's invoice answers exactly like a missing one ---------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(("method", "path"), ROUTES)
def test_idor_invoice_from_different_org_answers_404(client_a, invoice_b, enqueued, method, path):
    before = Invoice.objects.values().get(pk=invoice_b.pk)
    response = _call(client_a, method, path.format(id=invoice_b.pk))
    assert response.status_code == 404
    assert response.json() == {"detail": "No Invoice matches the given query.", "code": "not_found"}
    assert Invoice.objects.values().get(pk=invoice_b.pk) == before
    assert not InvoiceStatusChange.objects.filter(invoice=invoice_b).exists()
    assert enqueued == []


@pytest.mark.django_db
@pytest.mark.parametrize(("method", "path"), ROUTES)
def test_missing_invoice_answers_404(client_a, invoice_b, method, path):
    response = _call(client_a, method, path.format(id=invoice_b.pk + 1000))
    assert response.status_code == 404
    assert response.json() == {"detail": "No Invoice matches the given query.", "code": "not_found"}


@pytest.mark.django_db
def test_list_shows_only_own_organization(client_a, org_a, invoice_b):
    own = InvoiceFactory(organization=org_a)
    response = client_a.get("/api/v1/invoices/", {"irn": invoice_b.irn})
    assert response.status_code == 200
    assert response.json()["results"] == []
    listed = client_a.get("/api/v1/invoices/").json()["results"]
    assert [row["id"] for row in listed] == [own.pk]


@pytest.mark.django_db
def test_naming_another_organization_in_the_header_answers_404(client_a, org_b, invoice_b):
    for path in ("/api/v1/invoices/", f"/api/v1/invoices/{invoice_b.pk}/"):
        assert client_a.get(path, HTTP_X_ORGANIZATION_ID=str(org_b.pk)).status_code == 404


@pytest.mark.django_db
def test_member_of_two_organizations_picks_one_with_the_header(api_client, org_a, org_b):
    user = MembershipFactory(organization=org_a).user
    MembershipFactory(user=user, organization=org_b)
    in_b = InvoiceFactory(organization=org_b)
    client = _auth(api_client, user)
    response = client.get(f"/api/v1/invoices/{in_b.pk}/", HTTP_X_ORGANIZATION_ID=str(org_b.pk))
    assert response.status_code == 200
    # Without the header the organization is not guessed.
    assert client.get(f"/api/v1/invoices/{in_b.pk}/").status_code == 400


@pytest.mark.django_db
@pytest.mark.parametrize(("method", "path"), [("get", "/api/v1/invoices/"), *ROUTES])
def test_anonymous_is_refused(api_client, invoice_b, method, path):
    assert _call(api_client, method, path.format(id=invoice_b.pk)).status_code == 401


# --- List: filters and pagination -------------------------------------------------------------


@pytest.fixture
def assorted(org_a):
    """Invoices of org A that differ in one filterable field each."""
    return {
        "plain": InvoiceFactory(organization=org_a),
        "attention": InvoiceFactory(
            organization=org_a, status=Invoice.Status.NEEDS_ATTENTION, kind=Invoice.Kind.B2B
        ),
        "signed": InvoiceFactory(organization=org_a, signed=True, source_type=Invoice.Source.CRM),
        "paid": InvoiceFactory(
            organization=org_a,
            signed=True,
            payment_status=Invoice.PaymentStatus.PAID,
            issue_date=datetime.date(2026, 12, 2),
        ),
    }


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"status": "needs_attention"}, ["attention"]),
        ({"stage": "signed"}, ["signed", "paid"]),
        ({"source_type": "crm"}, ["signed"]),
        ({"kind": "B2B"}, ["attention"]),
        ({"payment_status": "PAID"}, ["paid"]),
        ({"issue_date_after": "2026-12-01"}, ["paid"]),
        ({"issue_date_before": "2026-11-30"}, ["plain", "attention", "signed"]),
        (
            {"issue_date_after": "2026-11-20", "issue_date_before": "2026-11-20"},
            ["plain", "attention", "signed"],
        ),
        ({"stage": "signed", "payment_status": "PENDING"}, ["signed"]),
    ],
)
def test_list_filters(client_a, assorted, invoice_b, query, expected):
    response = client_a.get("/api/v1/invoices/", query)
    assert response.status_code == 200
    assert {row["id"] for row in response.json()["results"]} == {
        assorted[name].pk for name in expected
    }


@pytest.mark.django_db
def test_list_filters_by_irn_and_source(client_a, assorted):
    target = assorted["signed"]
    for query in (
        {"irn": target.irn},
        {"source_type": "crm", "source_id": target.source_id},
        {"source_reference": target.source_reference},
    ):
        results = client_a.get("/api/v1/invoices/", query).json()["results"]
        assert [row["id"] for row in results] == [target.pk]


@pytest.mark.django_db
def test_unknown_filter_value_is_a_400(client_a):
    response = client_a.get("/api/v1/invoices/", {"status": "lost"})
    assert response.status_code == 400
    assert "status" in response.json()


@pytest.mark.django_db
def test_list_is_cursor_paginated_newest_first(client_a, org_a):
    invoices = InvoiceFactory.create_batch(3, organization=org_a)
    first = client_a.get("/api/v1/invoices/", {"page_size": 2}).json()
    assert set(first) == {"results", "next", "previous"}
    assert [row["id"] for row in first["results"]] == [invoices[2].pk, invoices[1].pk]
    assert first["previous"] is None and first["next"]
    second = client_a.get(first["next"]).json()
    assert [row["id"] for row in second["results"]] == [invoices[0].pk]
    assert second["next"] is None and second["previous"]
    row = first["results"][0]
    assert {"id", "irn", "status", "stage", "signed_at", "payable_amount"} <= set(row)
    assert "lines" not in row and "payload" not in row


# --- Detail -----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_detail_has_lines_subtotals_parties_and_history(client_a, org_a):
    invoice = InvoiceFactory(organization=org_a, signed=True, problems=[])
    InvoiceLine.objects.create(
        invoice=invoice,
        position=1,
        name="Rice 5kg",
        hs_code="1006.3000",
        quantity="2",
        price_amount="9500",
        line_extension_amount="19000.00",
    )
    InvoiceTaxSubtotal.objects.create(
        invoice=invoice,
        category="STANDARD_VAT",
        percent="7.50",
        taxable_amount="4200.00",
        tax_amount="315.00",
    )
    InvoiceParty.objects.create(invoice=invoice, role="supplier", name="Alpha Foods Ltd")
    InvoiceStatusChange.objects.create(invoice=invoice, from_status="", to_status="built")
    InvoiceStatusChange.objects.create(invoice=invoice, from_status="built", to_status="signed")

    response = client_a.get(f"/api/v1/invoices/{invoice.pk}/")
    assert response.status_code == 200
    body = response.json()
    for name in (
        "id",
        "irn",
        "number",
        "status",
        "stage",
        "source_type",
        "source_id",
        "kind",
        "currency",
        "payable_amount",
        "tax_amount",
        "payment_status",
        "problems",
        "created_at",
        "validated_at",
        "signed_at",
        "transmitted_at",
        "confirmed_at",
    ):
        assert name in body, name
    assert body["irn"] == invoice.irn and body["status"] == "signed"
    assert body["payable_amount"] == "23515.00"
    assert body["lines"][0]["name"] == "Rice 5kg"
    assert body["tax_subtotals"][0]["tax_amount"] == "315.00"
    assert body["parties"] == [
        {
            "role": "supplier",
            "name": "Alpha Foods Ltd",
            "tin": "",
            "email": "",
            "telephone": "",
            "address": {},
        }
    ]
    assert [change["to_status"] for change in body["status_history"]] == ["built", "signed"]
    assert "claim_token" not in body and "payload" not in body


@pytest.mark.django_db
def test_detail_lists_problems(client_a, org_a):
    invoice = InvoiceFactory(
        organization=org_a,
        status=Invoice.Status.NEEDS_ATTENTION,
        problems=[{"path": "invoice_line[0].hsn_code", "message": "unknown HS code"}],
    )
    body = client_a.get(f"/api/v1/invoices/{invoice.pk}/").json()
    assert body["problems"] == [{"path": "invoice_line[0].hsn_code", "message": "unknown HS code"}]


# --- Files ------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_firs_json_is_an_attachment_named_after_the_irn(client_a, org_a):
    invoice = InvoiceFactory(organization=org_a)
    response = client_a.get(f"/api/v1/invoices/{invoice.pk}/firs.json")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response["Content-Disposition"] == f'attachment; filename="{invoice.irn}.json"'
    assert json.loads(response.content) == invoice.payload


@pytest.mark.django_db
def test_firs_json_of_an_unbuilt_invoice_is_a_clear_404(client_a, org_a):
    invoice = InvoiceFactory(organization=org_a, payload={}, status="needs_attention")
    response = client_a.get(f"/api/v1/invoices/{invoice.pk}/firs.json")
    assert response.status_code == 404
    assert "no FIRS payload" in response.json()["detail"]


@pytest.mark.django_db
@pytest.mark.parametrize("accept", [None, "image/png", "image/avif,image/webp,*/*"])
def test_qr_png_is_a_png_of_the_stamp(client_a, org_a, accept):
    invoice = InvoiceFactory(organization=org_a, signed=True)
    headers = {"HTTP_ACCEPT": accept} if accept else {}
    response = client_a.get(f"/api/v1/invoices/{invoice.pk}/qr.png", **headers)
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert response.content.startswith(PNG_MAGIC)
    assert f'filename="{invoice.irn}.png"' in response["Content-Disposition"]


@pytest.mark.django_db
def test_qr_svg_is_an_svg_of_the_stamp(client_a, org_a):
    invoice = InvoiceFactory(organization=org_a, signed=True)
    response = client_a.get(f"/api/v1/invoices/{invoice.pk}/qr.svg", HTTP_ACCEPT="image/svg+xml")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/svg+xml"
    assert b"<svg" in response.content


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["qr.png", "qr.svg"])
def test_qr_before_signing_is_a_clear_json_404(client_a, org_a, name):
    invoice = InvoiceFactory(organization=org_a)
    response = client_a.get(f"/api/v1/invoices/{invoice.pk}/{name}", HTTP_ACCEPT="image/*")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert "no QR stamp yet" in response.json()["detail"]


# --- Actions ----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_redrive_puts_the_invoice_back_on_its_queue(client_a, owner_a, org_a, enqueued):
    invoice = InvoiceFactory(
        organization=org_a,
        stage=Invoice.Stage.VALIDATED,
        status=Invoice.Status.NEEDS_ATTENTION,
        attempts=3,
    )
    response = client_a.post(f"/api/v1/invoices/{invoice.pk}/redrive/")
    assert response.status_code == 202
    assert response.json()["status"] == "validated"
    assert enqueued == [(invoice.pk, None)]
    invoice.refresh_from_db()
    assert invoice.attempts == 0
    assert invoice.history.get().note == f"re-driven by {owner_a.username}"


@pytest.mark.django_db
def test_redrive_of_a_confirmed_invoice_is_a_409(client_a, org_a, enqueued):
    invoice = InvoiceFactory(organization=org_a, stage="confirmed", status="confirmed")
    response = client_a.post(f"/api/v1/invoices/{invoice.pk}/redrive/")
    assert response.status_code == 409
    assert "confirmed" in response.json()["detail"]
    assert enqueued == []


@pytest.mark.django_db
def test_redrive_leaves_an_invoice_a_worker_holds(client_a, org_a, enqueued):
    invoice = InvoiceFactory(
        organization=org_a,
        claimed_until=timezone.now() + timedelta(seconds=60),
        claim_token="task-1",
    )
    response = client_a.post(f"/api/v1/invoices/{invoice.pk}/redrive/")
    assert response.status_code == 409
    assert enqueued == []
    invoice.refresh_from_db()
    assert invoice.claim_token == "task-1"


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["redrive/", "mark-paid/"])
def test_viewer_cannot_act(api_client, org_a, enqueued, path):
    viewer = MembershipFactory(organization=org_a, role=Membership.Role.VIEWER).user
    invoice = InvoiceFactory(organization=org_a, signed=True, status="needs_attention")
    response = _auth(api_client, viewer).post(f"/api/v1/invoices/{invoice.pk}/{path}")
    assert response.status_code == 403
    assert enqueued == []
    invoice.refresh_from_db()
    assert invoice.status == "needs_attention" and invoice.payment_status == "PENDING"
    # Reading stays open to viewers.
    assert api_client.get(f"/api/v1/invoices/{invoice.pk}/").status_code == 200


@pytest.mark.django_db
def test_plain_member_may_redrive(api_client, org_a, enqueued):
    member = MembershipFactory(organization=org_a, role=Membership.Role.MEMBER).user
    invoice = InvoiceFactory(organization=org_a, status="needs_attention")
    response = _auth(api_client, member).post(f"/api/v1/invoices/{invoice.pk}/redrive/")
    assert response.status_code == 202


@pytest.mark.django_db
def test_mark_paid_before_signing_is_a_409_without_calling_firs(client_a, org_a):
    invoice = InvoiceFactory(organization=org_a)
    response = client_a.post(f"/api/v1/invoices/{invoice.pk}/mark-paid/", {"reference": "r"})
    assert response.status_code == 409
    assert "signed" in response.json()["detail"]
    assert not invoice.exchanges.exists()


@pytest.mark.django_db
def test_mark_paid_when_firs_is_not_configured_is_a_502(client_a, org_a):
    invoice = InvoiceFactory(organization=org_a, signed=True)  # org A has no FIRS base URL
    response = client_a.post(f"/api/v1/invoices/{invoice.pk}/mark-paid/")
    assert response.status_code == 502
    assert "no FIRS base URL" in response.json()["detail"]
    invoice.refresh_from_db()
    assert invoice.payment_status == "PENDING"


@pytest.mark.django_db
def test_mark_paid_while_firs_throttles_is_a_503_with_retry_after(client_a, org_a, monkeypatch):
    def throttled(*, invoice, actor, reference):
        raise FirsRateLimited("FIRS update_payment_status: too many requests", retry_after=30)

    monkeypatch.setattr(services, "invoice_mark_paid", throttled)
    invoice = InvoiceFactory(organization=org_a, signed=True)
    response = client_a.post(f"/api/v1/invoices/{invoice.pk}/mark-paid/")
    assert response.status_code == 503
    assert response["Retry-After"] == "30"
    assert "too many requests" in response.json()["detail"]


@pytest.mark.django_db
def test_mark_paid_reference_is_checked(client_a, org_a):
    invoice = InvoiceFactory(organization=org_a, signed=True)
    response = client_a.post(
        f"/api/v1/invoices/{invoice.pk}/mark-paid/", {"reference": "x" * 256}, format="json"
    )
    assert response.status_code == 400
    assert "reference" in response.json()


@pytest.fixture
def firs_live(live_server, monkeypatch):
    """A tenant wired to the FIRS sandbox on the live server, with no queue in the way."""
    breaker = SharedCircuitBreaker(name=live_server.url.split("//")[1])
    cache.delete(FAULTS_CACHE_KEY)
    breaker.reset()
    monkeypatch.setattr(services, "invoice_enqueue", lambda *, invoice, countdown=None: None)
    yield sandbox_organization(base_url=f"{live_server.url}/sandbox/firs")
    breaker.reset()


@pytest.mark.django_db(transaction=True)
def test_mark_paid_tells_firs_and_records_it(api_client, firs_live):
    owner = MembershipFactory(organization=firs_live, role=Membership.Role.OWNER).user
    invoice, _ = services.invoice_create_for_source(
        organization=firs_live, source_type="crm", source_id=uuid.UUID(int=1), source=won_deal(1)
    )
    services.invoice_advance(invoice_id=invoice.pk, claim_token="test")
    invoice.refresh_from_db()
    assert (invoice.status, invoice.payment_status) == ("confirmed", "PENDING"), invoice.problems

    response = _auth(api_client, owner).post(
        f"/api/v1/invoices/{invoice.pk}/mark-paid/", {"reference": "bank-ref-1"}, format="json"
    )
    assert response.status_code == 200, response.content
    assert response.json()["payment_status"] == "PAID"
    held = FirsSandboxInvoice.objects.get(irn=invoice.irn)
    assert (held.payment_status, held.payment_reference) == ("PAID", "bank-ref-1")
    assert invoice.exchanges.filter(operation="update_payment_status", ok=True).exists()
