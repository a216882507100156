"""Synthetic HubSpot traffic: deals made and moved in a sandbox account, announced by webhooks.

``traffic_run`` plays HubSpot for load and reliability tests: it creates deals with line items
and a company (with a TIN), moves them through the pipeline (forward, back, to won or lost), and
POSTs the events as HubSpot would: JSON arrays of several events, signed v3 (and v1) with the
app's client secret, at a given rate, optionally duplicated and shuffled.

As on HubSpot, each subscription numbers its own events, so ``eventId`` repeats across
``deal.creation`` and ``deal.propertyChange``: a receiver deduplicating on it alone loses events.
"""

import json
import random
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from urllib.parse import urlsplit

import requests

from integrations.crm.hubspot.sandbox import sandbox_object_create, sandbox_object_update
from integrations.crm.hubspot.sandbox_models import HubSpotSandboxObject, HubSpotSandboxPortal
from integrations.crm.hubspot.signatures import hubspot_signed_headers

MAX_DEALS = 10_000
MAX_EVENTS_PER_DELIVERY = 100
# HubSpot gives a receiver 5 seconds to answer.
DELIVERY_TIMEOUT_SECONDS = 5
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


@dataclass(frozen=True)
class WebhookDelivery:
    """One POST: the events in it and the status the receiver answered (0: no answer)."""

    events: tuple[dict, ...]
    status: int


@dataclass(frozen=True)
class TrafficSummary:
    deal_ids: tuple[str, ...]
    won_deal_ids: tuple[str, ...]
    events: int
    duplicates: int
    deliveries: tuple[WebhookDelivery, ...]
    seconds: float
    statuses: dict[int, int] = field(default_factory=dict)


def traffic_run(
    *,
    portal: HubSpotSandboxPortal,
    receiver_url: str,
    count: int = 10,
    rate: float | None = 10.0,
    duplicates: int = 0,
    shuffle: bool = False,
    events_per_delivery: int = 5,
    seed: int | None = None,
    session: requests.Session | None = None,
) -> TrafficSummary:
    """Make ``count`` deals, move them, and deliver their events to ``receiver_url``.

    ``rate`` is deliveries per second (None: as fast as the receiver answers). ``duplicates``
    events are sent again as HubSpot's retries are (same event, ``attemptNumber`` + 1), after
    their first delivery unless ``shuffle`` mixes every event's order. The deals end won, lost or
    still open at random (``seed`` makes a run repeatable); a won deal may have been won, reopened
    and won again.
    """
    if not 1 <= count <= MAX_DEALS:
        raise ValueError(f"count must be 1 to {MAX_DEALS}")
    if rate is not None and not rate > 0:
        raise ValueError("rate must be positive, or None for no pacing")
    if duplicates < 0:
        raise ValueError("duplicates must be 0 or more")
    if not 1 <= events_per_delivery <= MAX_EVENTS_PER_DELIVERY:
        raise ValueError(f"events_per_delivery must be 1 to {MAX_EVENTS_PER_DELIVERY}")
    if urlsplit(receiver_url).scheme not in ("http", "https"):
        raise ValueError("receiver_url must be an http(s) URL")
    chance = random.Random(seed)  # noqa: S311 (test data, not secrets)
    started = time.monotonic()
    stages = _stage_ids(portal)
    deals = [
        _deal_create(portal=portal, chance=chance, number=n, first_stage=stages["open"][0])
        for n in range(count)
    ]
    events = [_event(portal, "deal.creation", deal) for deal in deals]
    journeys = [_journey(stages, chance=chance) for _ in deals]
    # Round by round, so the deals' moves interleave in time as a team's would.
    for step in range(max(len(journey) for journey in journeys)):
        for deal, journey in zip(deals, journeys, strict=True):
            if step < len(journey):
                deal = sandbox_object_update(
                    portal=portal,
                    object_type="deals",
                    object_id=str(deal.pk),
                    body={"properties": {"dealstage": journey[step]}},
                )
                events.append(_event(portal, "deal.propertyChange", deal, change="dealstage"))
    _number(events)
    queue = _with_duplicates(events, duplicates=duplicates, shuffle=shuffle, chance=chance)
    owned_session = session is None
    session = session or requests.Session()
    try:
        deliveries = _deliver(
            queue,
            portal=portal,
            receiver_url=receiver_url,
            rate=rate,
            per_delivery=events_per_delivery,
            session=session,
        )
    finally:
        if owned_session:
            session.close()
    final_stages = {
        str(pk): stage
        for pk, stage in HubSpotSandboxObject.objects.filter(
            pk__in=[deal.pk for deal in deals]
        ).values_list("pk", "properties__dealstage")
    }
    return TrafficSummary(
        deal_ids=tuple(str(deal.pk) for deal in deals),
        won_deal_ids=tuple(
            deal_id for deal_id, stage in final_stages.items() if stage == stages["won"]
        ),
        events=len(events),
        duplicates=len(queue) - len(events),
        deliveries=tuple(deliveries),
        seconds=time.monotonic() - started,
        statuses=dict(Counter(delivery.status for delivery in deliveries)),
    )


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


def _number(events: list[dict]) -> None:
    """Each subscription counts its own event ids from the same start, as HubSpot's may."""
    counters = Counter()
    for event in events:
        event["eventId"] = FIRST_EVENT_ID + counters[event["subscriptionType"]]
        counters[event["subscriptionType"]] += 1


def _with_duplicates(
    events: list[dict], *, duplicates: int, shuffle: bool, chance: random.Random
) -> list[dict]:
    queue = list(events)
    for _ in range(duplicates):
        position = chance.randrange(len(events))
        original = events[position]
        retry = {**original, "attemptNumber": original["attemptNumber"] + 1}
        # A retry comes after the first attempt, anywhere later.
        queue.insert(chance.randint(queue.index(original) + 1, len(queue)), retry)
    if shuffle:
        chance.shuffle(queue)
    return queue


def _deliver(
    queue: list[dict],
    *,
    portal: HubSpotSandboxPortal,
    receiver_url: str,
    rate: float | None,
    per_delivery: int,
    session: requests.Session,
) -> list[WebhookDelivery]:
    deliveries = []
    started = time.monotonic()
    for number, first in enumerate(range(0, len(queue), per_delivery)):
        if rate is not None:
            # Keep to the schedule rather than sleeping a fixed gap after slow answers.
            time.sleep(max(0.0, started + number / rate - time.monotonic()))
        events = tuple(queue[first : first + per_delivery])
        body = json.dumps(events, separators=(",", ":")).encode("utf-8")
        headers = {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            **hubspot_signed_headers(
                secret=portal.client_secret, method="POST", uri=receiver_url, body=body
            ),
        }
        try:
            status = session.post(
                receiver_url, data=body, headers=headers, timeout=DELIVERY_TIMEOUT_SECONDS
            ).status_code
        except requests.RequestException:
            status = 0
        deliveries.append(WebhookDelivery(events=events, status=status))
    return deliveries
