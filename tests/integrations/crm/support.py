"""What the CRM flow tests share: a tenant wired to the FIRS sandbox with a sandbox HubSpot
connection, deals made and moved in its sandbox account, and signed webhook deliveries."""

import itertools
import json
from datetime import UTC, datetime

from django.utils import timezone

from integrations.base import sandbox_accounts
from integrations.base.models import InboundEvent
from integrations.crm.hubspot.signatures import (
    SIGNATURE_HEADER,
    VERSION_HEADER,
    hubspot_signature_v1,
    hubspot_signature_v2,
    hubspot_signed_headers,
)
from integrations.crm.models import CRMConnection
from sandboxes.hubspot.models import HubSpotSandboxObject, HubSpotSandboxPortal
from sandboxes.hubspot.server import sandbox_object_create, sandbox_object_update
from tests.factories import MembershipFactory
from tests.invoices.pipeline_support import sandbox_organization

BUYER_TIN = "17402958-0001"
# Subscription ids as HubSpot numbers them: one per subscription type.
SUBSCRIPTIONS = {"deal.creation": 2_460_900, "deal.propertyChange": 2_460_911}
_event_ids = itertools.count(1_820_476_000)


def hubspot_connection(*, site_url: str, organization=None) -> CRMConnection:
    """A sandbox HubSpot connection of a tenant whose FIRS points at this site's FIRS sandbox.

    The account's rate budget is raised so that only the tests about rate limits meet it.
    """
    organization = organization or sandbox_organization(base_url=f"{site_url}/sandbox/firs")
    user = MembershipFactory(organization=organization, role="owner").user
    connection = sandbox_accounts.connection_sandbox_create(
        family="crm", platform="hubspot", organization=organization, user=user, site_url=site_url
    )
    HubSpotSandboxPortal.objects.filter(hub_id=int(connection.account_id)).update(
        ten_secondly_limit=100_000
    )
    return connection


def portal_of(connection: CRMConnection) -> HubSpotSandboxPortal:
    return HubSpotSandboxPortal.objects.get(hub_id=int(connection.account_id))


def _to(record: HubSpotSandboxObject, type_id: int) -> dict:
    return {
        "to": {"id": str(record.pk)},
        "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": type_id}],
    }


def sandbox_deal(
    connection: CRMConnection,
    *,
    stage: str = "qualifiedtobuy",
    lines=(("POS terminal", "240000.00", "2"), ("Installation service", "50000.00", "1")),
    tin: str = BUYER_TIN,
) -> HubSpotSandboxObject:
    """A deal of the connection's sandbox account with line items, a company (with its TIN, in
    the connection's TIN property) and a contact."""
    portal = portal_of(connection)
    company = sandbox_object_create(
        portal=portal,
        object_type="companies",
        body={
            "properties": {
                "name": "Savannah Agro-Allied Processors Limited",
                connection.tin_property: tin,
                "address": "Plot 1021 Aminu Kano Crescent",
                "city": "Wuse II",
                "zip": "900288",
                "state": "FCT",
                "country": "Nigeria",
                "phone": "+2349062345678",
            }
        },
    )
    contact = sandbox_object_create(
        portal=portal,
        object_type="contacts",
        body={
            "properties": {
                "firstname": "Amina",
                "lastname": "Bello",
                "email": f"amina.{company.pk}@savannahagro.example",
            }
        },
    )
    deal = sandbox_object_create(
        portal=portal,
        object_type="deals",
        body={
            "properties": {
                "dealname": "Savannah Agro - POS roll-out",
                "pipeline": "default",
                "dealstage": stage,
                "deal_currency_code": "NGN",
            },
            "associations": [_to(company, 5), _to(contact, 3)],
        },
    )
    for name, price, quantity in lines:
        sandbox_object_create(
            portal=portal,
            object_type="line_items",
            body={
                "properties": {
                    "name": name,
                    "price": price,
                    "quantity": quantity,
                    "hs_line_item_currency_code": "NGN",
                },
                "associations": [_to(deal, 20)],
            },
        )
    deal.refresh_from_db()
    return deal


def deal_move(connection: CRMConnection, deal: HubSpotSandboxObject, stage: str):
    """Move the deal to ``stage`` in the sandbox; returns the ``deal.propertyChange`` event
    HubSpot would send about it."""
    moved = sandbox_object_update(
        portal=portal_of(connection),
        object_type="deals",
        object_id=str(deal.pk),
        body={"properties": {"dealstage": stage}},
    )
    return deal_event(connection, moved, "deal.propertyChange", stage=stage)


def deal_event(
    connection: CRMConnection, deal: HubSpotSandboxObject, subscription_type: str, **change
) -> dict:
    """One HubSpot webhook event about a deal; ``stage=`` makes it a dealstage change."""
    occurred = deal.updated_at if change else deal.created_at
    event = {
        "eventId": next(_event_ids),
        "subscriptionId": SUBSCRIPTIONS[subscription_type],
        "portalId": int(connection.account_id),
        "appId": portal_of(connection).app_id,
        "occurredAt": int(occurred.timestamp() * 1000),
        "subscriptionType": subscription_type,
        "attemptNumber": 0,
        "objectId": deal.pk,
        "changeSource": "CRM_UI",
        "sourceId": "userId:76023669",
    }
    if "stage" in change:
        event.update(propertyName="dealstage", propertyValue=change["stage"])
    else:
        event["changeFlag"] = "CREATED"
    return event


def signed(
    connection: CRMConnection,
    events: list[dict],
    *,
    secret: str = "",
    uri: str = "",
    version: str = "v3",
    at: datetime | None = None,
) -> tuple[bytes, dict]:
    """(body, headers) of a delivery of ``events`` signed as HubSpot signs it: v3 (with the v1
    headers HubSpot also sends), or v2 or v1 alone."""
    body = json.dumps(events, separators=(",", ":")).encode()
    secret = secret or connection.webhook_secret
    uri = uri or connection.notification_url
    if version == "v3":
        moment = at or datetime.now(UTC)
        return body, hubspot_signed_headers(
            secret=secret,
            method="POST",
            uri=uri,
            body=body,
            timestamp_ms=int(moment.timestamp() * 1000),
        )
    signature = (
        hubspot_signature_v2(secret=secret, method="POST", uri=uri, body=body)
        if version == "v2"
        else hubspot_signature_v1(secret=secret, body=body)
    )
    return body, {SIGNATURE_HEADER: signature, VERSION_HEADER: version}


def stored(connection: CRMConnection, event: dict) -> InboundEvent:
    """The event as the webhook endpoint stores it (its key from the mapper)."""
    from integrations.crm.hubspot.mappers import webhook_events

    (parsed,) = webhook_events(json.dumps([event]).encode())
    return InboundEvent.objects.create(
        family="crm",
        platform="hubspot",
        connection_id=connection.pk,
        event_id=parsed.event_id,
        event_type=parsed.event_type,
        object_id=parsed.object_id,
        payload=parsed.payload,
        received_at=timezone.now(),
    )
