"""The API against its own OpenAPI schema: drf-spectacular's validation, and schemathesis
generating requests for every operation as a tenant owner whose data it may change."""

import contextlib
import uuid
from datetime import timedelta

import pytest
import schemathesis
from django.core.cache import cache
from django.core.management import call_command
from django.core.wsgi import get_wsgi_application
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import Failure, FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from accounts.api_tokens.services import api_token_create
from accounts.models import Membership
from integrations.base.pipeline import backfill_start
from integrations.crm.models import CRMDeal
from integrations.pos.models import POSTransaction
from invoices import services as invoice_services
from invoices.firs.client import SharedCircuitBreaker
from invoices.models import Invoice
from sandboxes.firs.server import FAULTS_CACHE_KEY
from tests.factories import (
    CRMDealFactory,
    InvoiceFactory,
    MembershipFactory,
    POSConnectionFactory,
    POSTransactionFactory,
)
from tests.integrations.crm.support import hubspot_connection
from tests.integrations.pos.support import square_connection
from tests.invoices.pipeline_support import pos_sale, sandbox_organization, won_deal


def test_openapi_schema_is_valid_and_warning_free(tmp_path):
    """drf-spectacular documents every endpoint without guessing (B6 needs a true schema)."""
    target = tmp_path / "schema.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(target))
    schema = target.read_text()
    for path in ("/api/v1/organizations/", "/api/v1/invoices/", "/api/v1/invoices/{id}/qr.png"):
        assert f"{path}:" in schema


def _firs_confirmed_invoice(*, organization, source_type: str, number: int, source):
    """An invoice taken through the FIRS sandbox, so that FIRS knows it (mark-paid calls FIRS)."""
    invoice, _ = invoice_services.invoice_create_for_source(
        organization=organization,
        source_type=source_type,
        source_id=uuid.UUID(int=number),
        source=source,
    )
    invoice_services.invoice_advance(invoice_id=invoice.pk, claim_token="schema-test")
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.CONFIRMED, invoice.problems
    return invoice


@pytest.fixture
def tenant(live_server, clean_queues):
    """The owner of an organization with a connection of each family (to the in-project
    sandboxes, served by ``live_server``), transactions, deals and invoices (some known to the
    FIRS sandbox); its API headers and the ids of its rows, by the collection they are under."""
    cache.delete(FAULTS_CACHE_KEY)
    SharedCircuitBreaker(name=live_server.url.split("//")[1]).reset()
    organization = sandbox_organization(base_url=f"{live_server.url}/sandbox/firs")
    owner = MembershipFactory(organization=organization, role=Membership.Role.OWNER).user
    pos = square_connection(site_url=live_server.url, organization=organization)
    crm = hubspot_connection(site_url=live_server.url, organization=organization)
    transactions = [
        POSTransactionFactory(
            connection=pos,
            invoice=_firs_confirmed_invoice(
                organization=organization, source_type="pos", number=901, source=pos_sale(901)
            ),
        ),
        POSTransactionFactory(connection=pos, status=POSTransaction.Status.FAILED),
    ]
    deal = CRMDealFactory(
        connection=crm,
        invoice=_firs_confirmed_invoice(
            organization=organization, source_type="crm", number=902, source=won_deal(902)
        ),
    )
    CRMDealFactory(connection=crm, is_won=False, status=CRMDeal.Status.NOT_WON)
    InvoiceFactory(organization=organization, status=Invoice.Status.NEEDS_ATTENTION)
    run = backfill_start(
        connection=pos, start=timezone.now() - timedelta(days=2), end=timezone.now()
    )
    # Addresses left blank: a connection before its webhook is set up, a user without e-mail.
    POSConnectionFactory(organization=organization, notification_url="")
    viewer = MembershipFactory(
        organization=organization, role=Membership.Role.VIEWER, user__email=""
    )
    return {
        "headers": {
            "Authorization": f"Token {api_token_create(user=owner, name='schemathesis').raw}"
        },
        "organization": organization.pk,
        # By a fragment of the paths that name the row.
        "ids": {
            "organizations/{id}/": organization.pk,
            "organizations/{organization_pk}/": organization.pk,
            "members/{id}/": viewer.pk,
            "invoices/{id}": deal.invoice_id,
            "pos/connections/{id}/": pos.pk,
            "crm/connections/{id}/": crm.pk,
            "pos/transactions/{id}/": transactions[0].pk,
            "crm/deals/{id}/": deal.pk,
            "pos/sync-runs/{id}/": run.pk,
        },
    }


def _known_path_parameters(path: str, ids: dict) -> dict:
    """The seeded row for each of the path's parameters."""
    return {
        fragment.rsplit("{", 1)[1].split("}", 1)[0]: row_id
        for fragment, row_id in ids.items()
        if fragment in path
    }


# Not negative_data_rejection: DRF takes a number where text is documented as its text (a
# payment reference of 25066), by design. What invalid input must be refused (empty or
# non-boolean filters, bad pagination, dates out of range) is tested in test_api_contract.py.
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
EXAMPLES_PER_OPERATION = 8


def _failures_of(strategy, headers) -> list[str]:
    """Every distinct failure of the cases ``strategy`` draws (none raised: one run reports every
    operation's failures at once)."""
    failures = {}

    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy)
    def run(case):
        try:
            case.call_and_validate(headers=headers, checks=CHECKS)
        except (Failure, FailureGroup) as error:
            for failure in getattr(error, "exceptions", [error]):
                failures.setdefault(
                    (failure.operation, failure.title), f"{failure}\n{case.as_curl_command()}"
                )

    # Unsatisfiable: nothing left to make invalid once path parameters and headers are fixed.
    with contextlib.suppress(Unsatisfiable):
        run()
    return list(failures.values())


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_every_operation_keeps_to_the_schema(tenant):
    """Random and seeded requests, valid and invalid, to every operation: no server error, no
    status code, content type, header or body the schema does not document."""
    headers = tenant["headers"]
    api = schemathesis.openapi.from_wsgi(
        "/api/schema/?format=json", get_wsgi_application(), headers=headers
    )
    failures = []
    for result in api.get_all_operations():
        operation = result.ok()
        known = _known_path_parameters(operation.path, tenant["ids"])
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            failures += _failures_of(operation.as_strategy(generation_mode=mode), headers)
            if known:
                failures += _failures_of(
                    operation.as_strategy(
                        generation_mode=mode,
                        path_parameters=known,
                        headers={"X-Organization-Id": str(tenant["organization"])},
                    ),
                    headers,
                )
    assert not failures, "\n\n".join(failures)
