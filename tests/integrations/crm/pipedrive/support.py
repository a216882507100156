"""What the Pipedrive tests share: samples, a sandbox connection of a tenant wired to the FIRS
sandbox, deals made in its sandbox company, and deliveries with the connection's credentials."""

import json
import random
from pathlib import Path

from integrations.base import sandbox_accounts
from integrations.crm.models import CRMConnection
from integrations.crm.pipedrive.signatures import basic_authorization
from sandboxes.pipedrive.models import PipedriveSandboxCompany
from sandboxes.pipedrive.server import deal_update, webhook_payload
from sandboxes.pipedrive.traffic import sandbox_deal_make
from tests.factories import MembershipFactory
from tests.invoices.pipeline_support import sandbox_organization

SAMPLES = Path(__file__).resolve().parent / "fixtures"
SAMPLE_TIN_FIELD = "5f3c2a1b9d8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a"


def sample(name: str):
    return json.loads((SAMPLES / f"{name}.json").read_text(encoding="utf-8"))


def pipedrive_connection(*, site_url: str, organization=None) -> CRMConnection:
    """A sandbox Pipedrive connection (its webhooks subscribed) of a tenant whose FIRS points
    at this site's FIRS sandbox; the company's burst limit raised out of the tests' way."""
    organization = organization or sandbox_organization(base_url=f"{site_url}/sandbox/firs")
    user = MembershipFactory(organization=organization, role="owner").user
    connection = sandbox_accounts.connection_sandbox_create(
        family="crm", platform="pipedrive", organization=organization, user=user, site_url=site_url
    )
    PipedriveSandboxCompany.objects.filter(company_id=int(connection.account_id)).update(
        burst_limit=100_000
    )
    connection.refresh_from_db()
    return connection


def company_of(connection: CRMConnection) -> PipedriveSandboxCompany:
    return PipedriveSandboxCompany.objects.get(company_id=int(connection.account_id))


def sandbox_deal(connection: CRMConnection, *, seed: int = 0, status: str = ""):
    """A deal of the connection's sandbox company with products and a buyer; won when asked."""
    company = company_of(connection)
    deal = sandbox_deal_make(company=company, rng=random.Random(seed), number=seed)
    if status:
        deal, _previous = deal_update(
            company=company, deal_id=deal.pk, body={"status": status}, announce=False
        )
    return deal


def deal_event(connection: CRMConnection, deal, *, action="change", previous=None) -> dict:
    """The webhooks v2 event Pipedrive sends about the deal (a status change by default)."""
    if action == "change" and previous is None:
        previous = {"status": "open"}
    return webhook_payload(company_of(connection), action, deal, previous=previous)


def delivery_headers(connection: CRMConnection, *, secret: str = "", url: str = "") -> dict:
    return {
        "Authorization": basic_authorization(
            secret=secret or connection.webhook_secret, url=url or connection.notification_url
        )
    }
