"""The API's shared conventions (taxpoynt/api.py, taxpoynt/schema.py): one JSON error body for
every error under /api/, date-times in UTC and within a sane range, strict filters and
pagination, and a schema that documents every status code without each view saying so."""

import dataclasses
import json
import re
import subprocess
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
from django.core.management import call_command
from django.test import Client, override_settings
from django.urls import include, path
from django.utils import timezone
from drf_spectacular.generators import SchemaGenerator
from rest_framework import mixins, viewsets
from rest_framework.routers import SimpleRouter

from accounts.api_tokens.services import api_token_create
from integrations.base.models import SyncRun
from invoices.builder import LAGOS
from invoices.models import Invoice
from invoices.services import invoice_create_for_source
from taxpoynt.api import OrganizationContextMixin
from tests.factories import InvoiceFactory, POSConnectionFactory, UserFactory
from tests.invoices.pipeline_support import pos_sale

pytestmark = pytest.mark.django_db

PROJECT_ROOT = Path(__file__).resolve().parents[2]
POS = "/api/v1/integrations/pos"


@pytest.fixture
def client_a(api_client, owner_a):
    issued = api_token_create(user=owner_a, name="tests")
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {issued.raw}")
    return api_client


# --- JSON errors under /api/ ---------------------------------------------------------------------


@pytest.mark.parametrize("debug", [False, True])
def test_an_unknown_path_under_api_answers_a_json_404(client_a, debug):
    with override_settings(DEBUG=debug):
        response = client_a.get("/api/v1/no-such-collection/")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json()["code"] == "not_found"


def test_an_unknown_page_outside_api_stays_html(client):
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


def test_a_crash_under_api_answers_a_json_500_without_details(owner_a, monkeypatch):
    from invoices import selectors

    def crash(**kwargs):
        raise RuntimeError("secret internals")

    monkeypatch.setattr(selectors, "invoice_list", crash)
    client = Client(raise_request_exception=False)
    client.force_login(owner_a)
    response = client.get("/api/v1/invoices/")
    assert response.status_code == 500
    assert response.json()["code"] == "server_error"
    assert "secret" not in response.content.decode()


def test_a_method_not_allowed_answers_the_error_body(client_a):
    response = client_a.delete("/api/v1/invoices/")
    assert response.status_code == 405
    assert response.json() == {
        "detail": 'Method "DELETE" not allowed.',
        "code": "method_not_allowed",
    }


def test_a_validation_error_keeps_its_fields_and_says_what_is_wrong(client_a, org_a):
    connection = POSConnectionFactory(organization=org_a)
    response = client_a.post(
        f"{POS}/connections/{connection.pk}/backfill/", {"end": "x"}, format="json"
    )
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid"
    assert set(body) == {"detail", "code", "start", "end"}
    assert body["detail"].startswith(("start: ", "end: "))


def test_a_form_body_is_refused_rather_than_read_without_its_nested_fields(client_a, org_a):
    """A form cannot carry a connection's nested settings: DRF left them out and answered 200."""
    connection = POSConnectionFactory(organization=org_a)
    response = client_a.patch(
        f"{POS}/connections/{connection.pk}/",
        "settings=%7B%22default_hs_code%22%3A+null%7D",
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 415
    assert response.json()["code"] == "unsupported_media_type"


# --- Date-times ----------------------------------------------------------------------------------


@pytest.mark.parametrize("start", ["0577-03-01T00:00:00Z", "1999-12-31T23:59:59Z", "2101-01-01"])
def test_a_backfill_window_outside_2000_to_2100_is_refused(client_a, org_a, start):
    connection = POSConnectionFactory(organization=org_a)
    response = client_a.post(
        f"{POS}/connections/{connection.pk}/backfill/",
        {"start": start, "end": "2101-06-01T00:00:00Z"},
        format="json",
    )
    assert response.status_code == 400
    assert "start" in response.json()
    assert not SyncRun.objects.exists()


def test_date_times_are_answered_in_utc_whatever_the_year(client_a, org_a):
    """The tenants' zone (Africa/Lagos) had a local mean time offset of +00:13:35 before 1905:
    RFC 3339 cannot write it. Rows already stored with such a year still render in UTC."""
    connection = POSConnectionFactory(organization=org_a)
    run = SyncRun.objects.create(
        family="pos",
        platform="square",
        connection_id=connection.pk,
        organization=org_a,
        kind=SyncRun.Kind.BACKFILL,
        window_start=datetime(577, 3, 1, 12, 0, tzinfo=UTC),
        window_end=datetime(2026, 11, 20, 13, 30, tzinfo=UTC),
    )
    body = client_a.get(f"{POS}/sync-runs/{run.pk}/").json()
    assert body["window_start"] == "0577-03-01T12:00:00Z"
    assert body["window_end"] == "2026-11-20T13:30:00Z"
    assert body["created_at"].endswith("Z")


def test_an_invoice_made_while_the_api_answers_in_utc_keeps_nigerias_date(org_a):
    """The API's UTC must not leak into tax facts: a sale at 00:30 in Lagos (23:30 UTC the day
    before) is issued on its Nigerian date."""
    sale = dataclasses.replace(pos_sale(1), occurred_at=datetime(2026, 11, 20, 0, 30, tzinfo=LAGOS))
    with timezone.override(UTC):
        invoice, _ = invoice_create_for_source(
            organization=org_a,
            source_type="pos",
            source_id=uuid.UUID(int=77),
            source=sale,
            enqueue=False,
        )
    assert (invoice.issue_date.isoformat(), invoice.issue_time.isoformat()) == (
        "2026-11-20",
        "00:30:00",
    )


def test_a_date_filter_outside_2000_to_2100_is_refused(client_a, org_a):
    InvoiceFactory(organization=org_a)
    response = client_a.get("/api/v1/invoices/", {"issue_date_after": "0577-01-01"})
    assert response.status_code == 400
    assert "issue_date" in response.json()
    response = client_a.get(
        f"{POS}/transactions/", {"transaction_timestamp_before": "2200-01-01T00:00:00Z"}
    )
    assert response.status_code == 400


def test_issue_time_is_documented_as_the_local_time_it_is(tmp_path):
    target = tmp_path / "schema.json"
    call_command("spectacular", "--format", "openapi-json", "--file", str(target))
    issue_time = json.loads(target.read_text())["components"]["schemas"]["InvoiceDetail"][
        "properties"
    ]["issue_time"]
    assert "format" not in issue_time
    assert issue_time["pattern"].startswith("^([01][0-9]|2[0-3])")


def test_issue_time_keeps_its_documented_pattern(client_a, org_a):
    invoice = InvoiceFactory(organization=org_a, issue_time="14:30:05")
    issue_time = client_a.get(f"/api/v1/invoices/{invoice.pk}/").json()["issue_time"]
    assert re.fullmatch(r"([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]+)?", issue_time)


# --- Filters and pagination ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "parameter"),
    [
        ("/api/v1/invoices/", "status"),
        ("/api/v1/invoices/", "issue_date_after"),
        (f"{POS}/transactions/", "kind"),
        (f"{POS}/transactions/", "invoiced"),
        (f"{POS}/transactions/", "connection"),
        (f"{POS}/sync-runs/", "status"),
    ],
)
def test_an_empty_value_for_a_filter_that_takes_no_text_is_refused(client_a, url, parameter):
    response = client_a.get(url, {parameter: ""})
    assert response.status_code == 400
    assert parameter in response.json()


@pytest.mark.parametrize("value", ["0.45", "yes", "unknown"])
def test_a_boolean_filter_takes_true_or_false_only(client_a, value):
    response = client_a.get(f"{POS}/transactions/", {"failed": value})
    assert response.status_code == 400
    assert "failed" in response.json()
    assert client_a.get(f"{POS}/transactions/", {"failed": "false"}).status_code == 200


def test_an_empty_free_text_filter_is_left_out(client_a, org_a):
    """Free text may be empty (the schema allows it): no filter, as django-filter reads it."""
    InvoiceFactory(organization=org_a, source_reference="sq-order-8")
    InvoiceFactory(organization=org_a, source_reference="sq-order-9")
    response = client_a.get("/api/v1/invoices/", {"source_reference": ""})
    assert response.status_code == 200
    assert len(response.json()["results"]) == 2


@pytest.mark.parametrize(
    ("parameter", "value"), [("page_size", "0"), ("page_size", "ten"), ("cursor", "nonsense")]
)
def test_bad_pagination_parameters_are_refused(client_a, parameter, value):
    response = client_a.get("/api/v1/invoices/", {parameter: value})
    assert response.status_code == 400
    assert parameter in response.json()


@pytest.mark.parametrize("value", ["²", "-1", "1 "])
def test_an_organization_header_that_is_no_id_answers_400(client_a, value):
    response = client_a.get("/api/v1/invoices/", headers={"X-Organization-Id": value})
    assert response.status_code == 400
    assert response.json()["code"] == "organization_required"


def test_an_organization_id_beyond_any_row_answers_404(client_a):
    response = client_a.get(
        "/api/v1/invoices/", headers={"X-Organization-Id": "99999999999999999999999"}
    )
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


# --- The schema's generic responses --------------------------------------------------------------


class _NewViewSet(OrganizationContextMixin, mixins.ListModelMixin, viewsets.GenericViewSet):
    """An endpoint as another engineer adds it: no schema decorations at all."""

    queryset = Invoice.objects.none()
    filterset_fields = ["status"]

    def get_serializer_class(self):
        from invoices.api import InvoiceListSerializer

        return InvoiceListSerializer

    def create(self, request):
        raise NotImplementedError

    def retrieve(self, request, pk=None):
        raise NotImplementedError


def test_a_new_endpoint_documents_its_errors_without_saying_so():
    router = SimpleRouter()
    router.register("things", _NewViewSet, basename="thing")
    generator = SchemaGenerator(patterns=[path("api/v1/", include(router.urls))])
    document = generator.get_schema(request=None, public=True)
    listed = document["paths"]["/api/v1/things/"]
    assert set(listed["get"]["responses"]) == {"200", "400", "401", "403", "404"}
    assert set(listed["post"]["responses"]) >= {"400", "401", "403", "404"}
    detail = document["paths"]["/api/v1/things/{id}/"]["get"]
    assert set(detail["responses"]) >= {"200", "401", "403", "404"}
    error = detail["responses"]["404"]["content"]["application/json"]["schema"]
    assert error == {"$ref": "#/components/schemas/Error"}
    assert set(document["components"]["schemas"]["Error"]["required"]) == {"detail", "code"}
    assert any(
        parameter["name"] == "X-Organization-Id" for parameter in listed["get"]["parameters"]
    )


# --- The schema and docs in production -----------------------------------------------------------

_PRODUCTION_PROBE = """
import json, sys
import django
django.setup()
from django.test import Client
token = sys.argv[1]
client = Client()
print(json.dumps({
    "schema": client.get("/api/schema/").status_code,
    "docs": client.get("/api/docs/").status_code,
    "schema_with_token": client.get(
        "/api/schema/", headers={"Authorization": f"Token {token}"}
    ).status_code,
}))
"""


@pytest.mark.django_db(transaction=True)
def test_in_production_the_schema_and_docs_need_a_login(process_env, python_bin):
    """drf-spectacular reads its serving permissions when its views are imported: the
    production settings are checked in a process of their own."""
    token = api_token_create(user=UserFactory(), name="tests").raw
    result = subprocess.run(
        [python_bin, "-c", _PRODUCTION_PROBE, token],
        env=process_env(
            DJANGO_SETTINGS_MODULE="taxpoynt.settings.production", SECURE_SSL_REDIRECT="false"
        ),
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    statuses = json.loads(result.stdout.strip().splitlines()[-1])
    assert statuses == {"schema": 401, "docs": 401, "schema_with_token": 200}
