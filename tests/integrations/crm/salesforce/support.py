"""What the Salesforce tests share: a sandbox connection of a tenant wired to the FIRS
sandbox, Opportunities made in its sandbox org, and Outbound Messages built here."""

import random
from pathlib import Path
from xml.sax.saxutils import escape

from integrations.base import sandbox_accounts
from integrations.crm.models import CRMConnection
from sandboxes.salesforce.models import SalesforceSandboxOrg, SalesforceSandboxRecord, record_id
from sandboxes.salesforce.server import WON_STAGE, record_update
from sandboxes.salesforce.traffic import sandbox_opportunity_make
from tests.factories import MembershipFactory
from tests.invoices.pipeline_support import sandbox_organization

SAMPLES = Path(__file__).resolve().parent / "fixtures"


def salesforce_connection(*, site_url: str, organization=None) -> CRMConnection:
    organization = organization or sandbox_organization(base_url=f"{site_url}/sandbox/firs")
    user = MembershipFactory(organization=organization, role="owner").user
    connection = sandbox_accounts.connection_sandbox_create(
        family="crm",
        platform="salesforce",
        organization=organization,
        user=user,
        site_url=site_url,
    )
    connection.refresh_from_db()
    return connection


def org_of(connection: CRMConnection) -> SalesforceSandboxOrg:
    return SalesforceSandboxOrg.objects.get(org_id=connection.account_id)


def sandbox_opportunity(connection, *, seed: int = 0, won: bool = False):
    org = org_of(connection)
    opportunity = sandbox_opportunity_make(org=org, rng=random.Random(seed), number=seed)
    if won:
        opportunity = record_update(
            org=org,
            object_type="Opportunity",
            sf_id=opportunity.sf_id,
            fields={"StageName": WON_STAGE},
        )
    return opportunity


def envelope(*, org_id: str, notifications: list[tuple[str, str]], won: bool = True) -> bytes:
    """An Outbound Message as Salesforce sends it: (notification id, Opportunity id) each."""
    body = "".join(
        f"<Notification><Id>{notification_id}</Id>"
        '<sObject xsi:type="sf:Opportunity" xmlns:sf="urn:sobject.enterprise.soap.sforce.com">'
        f"<sf:Id>{escape(opportunity_id)}</sf:Id><sf:IsWon>{str(won).lower()}</sf:IsWon>"
        "</sObject></Notification>"
        for notification_id, opportunity_id in notifications
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body>'
        '<notifications xmlns="http://soap.sforce.com/2005/09/outbound">'
        f"<OrganizationId>{org_id}</OrganizationId><ActionId>04k5g000000ExAmAAC</ActionId>"
        '<SessionId xsi:nil="true"/>'
        f"{body}</notifications></soapenv:Body></soapenv:Envelope>"
    ).encode()


def notification_id() -> str:
    return record_id("04l")


def opportunities(connection):
    return SalesforceSandboxRecord.objects.filter(org=org_of(connection), object_type="Opportunity")
