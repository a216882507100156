"""HubSpot's part of the sandbox traffic (sandboxes/kit/traffic.py): deals made and moved in a
sandbox account, announced by webhooks.

A change is a deal created (with line items and a company with a TIN) or moved one stage along
its journey (forward, back, to won or lost), several deals moving at once as a team's do. Events
go as HubSpot sends them: JSON arrays of several events, signed v3 (and v1) with the app's client
secret; a retry is the event again with ``attemptNumber`` + 1.

As on HubSpot, each subscription numbers its own events, so ``eventId`` repeats across
``deal.creation`` and ``deal.propertyChange``: a receiver deduplicating on it alone loses events.
"""

import json
import random
from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from integrations.crm.hubspot.signatures import hubspot_signed_headers
from sandboxes.hubspot.models import HubSpotSandboxObject, HubSpotSandboxPortal
from sandboxes.hubspot.server import sandbox_object_create, sandbox_object_update
from sandboxes.kit.traffic import Event, Receiver, TrafficPlatform

MAX_DEALS = 10_000
MAX_EVENTS_PER_DELIVERY = 100
# About this many deals are on their way at once; a change makes a new one at this chance.
DEALS_MOVING = 8
NEW_DEAL_SHARE = 0.3
USER_AGENT = "HubSpot Connect 2.0 (http://dev.hubspot.com/) (TaxPoynt sandbox)"
SUBSCRIPTION_IDS = {"deal.creation": 2_460_900, "deal.propertyChange": 2_460_911}
FIRST_EVENT_ID = 1_820_476_000
PRODUCTS = (
    ("POS terminal", "POS-X", "240000.00"),
    ("Receipt printer", "PRN-80", "85000.00"),
    ("Installation service", "SRV-INST", "50000.00"),
    ("Annual support plan", "SRV-AMC", "120000.00"),
    ("Barcode scanner", "SCN-2D", "42500.50"),
)
CITIES = (("Ikeja", "Lagos"), ("Wuse", "FCT"), ("Port Harcourt", "Rivers"), ("Kano", "Kano"))
# A B2B invoice needs the buyer's postal zone; one per city keeps seeded runs as they were.
POSTCODES = {"Ikeja": "100271", "Wuse": "900288", "Port Harcourt": "500272", "Kano": "700211"}


class HubSpotTraffic(TrafficPlatform):
    """Deals of one portal's default pipeline; ``signing_key`` defaults to the app's client
    secret, which HubSpot signs with."""

    key = "hubspot"
    # HubSpot gives a receiver 5 seconds to answer.
    delivery_timeout_seconds = 5.0

    @classmethod
    def add_arguments(cls, parser) -> None:
        # HubSpot batches the events of a moment; at a demo's pace that is one.
        parser.add_argument("--events-per-delivery", type=int, default=1)

    @classmethod
    def from_options(cls, *, account_id: str, signing_key: str, options: dict):
        portal = (
            HubSpotSandboxPortal.objects.filter(hub_id=int(account_id)).first()
            if account_id.isdigit()
            else None
        )
        if portal is None:
            raise ValueError(f"No sandbox portal {account_id!r}")
        return cls(
            portal=portal,
            signing_key=signing_key,
            events_per_delivery=options["events_per_delivery"],
        )

    def __init__(
        self,
        *,
        portal: HubSpotSandboxPortal,
        signing_key: str = "",
        events_per_delivery: int = 5,
    ):
        if not 1 <= events_per_delivery <= MAX_EVENTS_PER_DELIVERY:
            raise ValueError(f"events_per_delivery must be 1 to {MAX_EVENTS_PER_DELIVERY}")
        self.portal = portal
        self.signing_key = signing_key or portal.client_secret
        self.events_per_delivery = events_per_delivery
        self.stages = _stage_ids(portal)
        self.deal_ids: list[str] = []
        # Deals on their way, each with the stages it has yet to move to.
        self.moving: list[tuple[HubSpotSandboxObject, list[str]]] = []
        self.event_ids = Counter()

    def change_make(self, *, rng: random.Random) -> list[Event]:
        if not self.moving or (len(self.moving) < DEALS_MOVING and rng.random() < NEW_DEAL_SHARE):
            if len(self.deal_ids) >= MAX_DEALS:
                raise ValueError(f"A run makes at most {MAX_DEALS} deals")
            deal = _deal_create(
                portal=self.portal,
                chance=rng,
                number=len(self.deal_ids),
                first_stage=self.stages["open"][0],
            )
            self.deal_ids.append(str(deal.pk))
            self.moving.append((deal, _journey(self.stages, chance=rng)))
            return [self._event("deal.creation", deal)]
        position = rng.randrange(len(self.moving))
        deal, journey = self.moving[position]
        deal = sandbox_object_update(
            portal=self.portal,
            object_type="deals",
            object_id=str(deal.pk),
            body={"properties": {"dealstage": journey[0]}},
        )
        if journey[1:]:
            self.moving[position] = (deal, journey[1:])
        else:
            del self.moving[position]
        return [self._event("deal.propertyChange", deal, change="dealstage")]

    def event_retried(self, event: Event) -> Event:
        return replace(event, payload={**event.payload, "attemptNumber": event.attempt})

    def body(self, events: tuple[Event, ...]) -> bytes:
        return json.dumps([event.payload for event in events], separators=(",", ":")).encode()

    def headers(self, *, body: bytes, events: tuple[Event, ...], receiver: Receiver) -> dict:
        return {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            **hubspot_signed_headers(
                secret=self.signing_key, method="POST", uri=receiver.signed_url, body=body
            ),
        }

    def won_deal_ids(self) -> list[str]:
        """The deals made that stand in the won stage now."""
        return [
            str(pk)
            for pk in HubSpotSandboxObject.objects.filter(
                pk__in=self.deal_ids, properties__dealstage=self.stages["won"]
            ).values_list("pk", flat=True)
        ]

    def counts(self) -> dict:
        return {"deals_created": len(self.deal_ids), "won_deals": len(self.won_deal_ids())}

    def _event(self, subscription_type: str, deal: HubSpotSandboxObject, *, change: str = ""):
        """Each subscription counts its own event ids from the same start, as HubSpot's may."""
        payload = _event(self.portal, subscription_type, deal, change=change)
        payload["eventId"] = FIRST_EVENT_ID + self.event_ids[subscription_type]
        self.event_ids[subscription_type] += 1
        return Event(payload=payload)


def _stage_ids(portal: HubSpotSandboxPortal) -> dict:
    """The default pipeline's open stages in order, its won stage and its lost stage."""
    stages = list(
        portal.pipelines.get(pipeline_id="default").stages.order_by("display_order", "id")
    )
    won = [stage.stage_id for stage in stages if stage.is_closed and stage.probability == 1]
    lost = [stage.stage_id for stage in stages if stage.is_closed and stage.probability == 0]
    open_stages = [stage.stage_id for stage in stages if not stage.is_closed]
    if not (won and lost and len(open_stages) >= 2):
        raise ValueError("The default pipeline needs two open stages, a won and a lost stage")
    return {"open": open_stages, "won": won[0], "lost": lost[0]}


def _journey(stages: dict, *, chance: random.Random) -> list[str]:
    """The stages a deal moves through after its first one."""
    first_open, *later_open = stages["open"]
    forward = later_open[: chance.randint(1, len(later_open))]
    ending = chance.choice(("won", "won", "won_again", "lost", "open", "won_then_lost"))
    if ending == "won":
        return [*forward, stages["won"]]
    if ending == "won_again":  # won, reopened by mistake, won again
        return [*forward, stages["won"], forward[-1], stages["won"]]
    if ending == "won_then_lost":
        return [*forward, stages["won"], stages["lost"]]
    if ending == "lost":
        return [*forward, stages["lost"]]
    return [*forward, first_open]  # still open, moved back


def _deal_create(
    *, portal: HubSpotSandboxPortal, chance: random.Random, number: int, first_stage: str
) -> HubSpotSandboxObject:
    city, state = chance.choice(CITIES)
    company = sandbox_object_create(
        portal=portal,
        object_type="companies",
        body={
            "properties": {
                "name": f"Buyer {number + 1} Nigeria Ltd",
                "domain": f"buyer{number + 1}.example.ng",
                # A B2B invoice needs the buyer's e-mail; FIRS validation refuses one without.
                "email": f"accounts@buyer{number + 1}.example.ng",
                "tin": f"{chance.randrange(10_000_000, 100_000_000)}-0001",
                "address": f"{chance.randint(1, 200)} Allen Avenue",
                "city": city,
                "zip": POSTCODES[city],
                "state": state,
                "country": "Nigeria",
                "phone": f"080{chance.randrange(10_000_000, 100_000_000)}",
            }
        },
    )
    deal = sandbox_object_create(
        portal=portal,
        object_type="deals",
        body={
            "properties": {
                "dealname": f"Buyer {number + 1} - order {chance.randint(1000, 9999)}",
                "pipeline": "default",
                "dealstage": first_stage,
                "deal_currency_code": "NGN",
            },
            "associations": [_to(company, type_id=5)],
        },
    )
    for name, sku, price in chance.sample(PRODUCTS, chance.randint(1, 3)):
        quantity = chance.randint(1, 20)
        discount = {"hs_discount_percentage": "10"} if chance.random() < 0.25 else {}
        sandbox_object_create(
            portal=portal,
            object_type="line_items",
            body={
                "properties": {
                    "name": name,
                    "hs_sku": sku,
                    "price": str(Decimal(price)),
                    "quantity": str(quantity),
                    "hs_line_item_currency_code": "NGN",
                    **discount,
                },
                "associations": [_to(deal, type_id=20)],
            },
        )
    deal.refresh_from_db()
    return deal


def _to(record: HubSpotSandboxObject, *, type_id: int) -> dict:
    return {
        "to": {"id": str(record.pk)},
        "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": type_id}],
    }


def _event(
    portal: HubSpotSandboxPortal,
    subscription_type: str,
    deal: HubSpotSandboxObject,
    *,
    change: str = "",
) -> dict:
    event = {
        "subscriptionId": SUBSCRIPTION_IDS[subscription_type],
        "portalId": portal.hub_id,
        "appId": portal.app_id,
        "occurredAt": _epoch_ms(deal.updated_at if change else deal.created_at),
        "subscriptionType": subscription_type,
        "attemptNumber": 0,
        "objectId": deal.pk,
        "changeSource": "CRM_UI",
        "sourceId": "userId:76023669",
    }
    if change:
        event.update(propertyName=change, propertyValue=deal.properties[change])
    else:
        event["changeFlag"] = "CREATED"
    return event


def _epoch_ms(moment: datetime) -> int:
    return (moment - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(milliseconds=1)
