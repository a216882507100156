"""HubSpot's traffic through the kit's sender, against a tiny receiver that checks HubSpot's v3
signature, over HTTP."""

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from integrations.crm.hubspot.mappers import deal_from_hubspot, webhook_events
from integrations.crm.hubspot.signatures import hubspot_signature_valid
from sandboxes.hubspot.models import HubSpotSandboxObject
from sandboxes.hubspot.server import object_json, sandbox_portal_create
from sandboxes.hubspot.traffic import HubSpotTraffic
from sandboxes.kit.traffic import Receiver as Target
from sandboxes.kit.traffic import traffic_run

# Escapes on HubSpot's list, so the receiver's URI is decoded before the check.
RECEIVER_PATH = "/hooks/hubspot?source=sandbox%3Atraffic"


class Receiver:
    """A webhook endpoint on a real socket: 204 for a valid v3 signature, 401 otherwise."""

    def __init__(self, secret: str):
        self.secret = secret
        self.deliveries: list[tuple[float, list]] = []
        self.refused = 0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                uri = f"http://{self.headers['Host']}{self.path}"
                if hubspot_signature_valid(
                    headers=dict(self.headers),
                    body=body,
                    secret=receiver.secret,
                    method="POST",
                    uri=uri,
                    versions=("v3",),
                ):
                    receiver.deliveries.append((time.monotonic(), webhook_events(body)))
                    self.send_response(204)
                else:
                    receiver.refused += 1
                    self.send_response(401)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}{RECEIVER_PATH}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)

    @property
    def events(self) -> list:
        return [event for _, events in self.deliveries for event in events]


@pytest.fixture
def portal(db):
    return sandbox_portal_create()


def hubspot_traffic(portal, url, *, events_per_delivery=5, **options):
    platform = HubSpotTraffic(portal=portal, events_per_delivery=events_per_delivery)
    return platform, traffic_run(platform, receiver=Target(webhook_url=url), **options)


def test_traffic_is_signed_batched_paced_and_ends_in_deals_that_map(portal):
    with Receiver(portal.client_secret) as receiver:
        platform, summary = hubspot_traffic(
            portal,
            receiver.url,
            count=60,
            rate=40.0,
            duplicates=3,
            shuffle_window=8,
            events_per_delivery=4,
            seed=11,
        )

    assert receiver.refused == 0
    assert summary.statuses == {204: summary.deliveries_sent}
    assert summary.changes == summary.events == 60
    assert len(receiver.events) > summary.events  # some sent more than once
    assert all(len(events) <= 4 for _, events in receiver.deliveries)
    # Deduplicating on the key leaves each event once; on eventId alone, events would be lost.
    assert len({event.event_id for event in receiver.events}) == summary.events
    by_key = {event.event_id: event.payload["eventId"] for event in receiver.events}
    assert len(set(by_key.values())) < len(by_key)
    # Paced: n deliveries at 40 a second are spread over about (n - 1) / 40 seconds (half of
    # that, in case the first delivery is slow to connect).
    arrivals = [arrived for arrived, _ in receiver.deliveries]
    assert arrivals[-1] - arrivals[0] >= (len(arrivals) - 1) / 40 / 2

    unique = {event.event_id: event for event in receiver.events}.values()
    created = {e.object_id for e in unique if e.event_type == "deal.creation"}
    assert created == set(platform.deal_ids)
    last_stage = {}
    for event in sorted(
        (e for e in unique if e.event_type == "deal.propertyChange"),
        key=lambda e: e.payload["occurredAt"],
    ):
        assert event.payload["propertyName"] == "dealstage"
        last_stage[event.object_id] = event.payload["propertyValue"]
    won = platform.won_deal_ids()
    assert {deal for deal, stage in last_stage.items() if stage == "closedwon"} == set(won)
    assert won  # seed 11 wins some
    assert summary.made == {"deals_created": len(platform.deal_ids), "won_deals": len(won)}

    for deal_id in won:
        deal = mapped_deal(portal, deal_id)
        assert deal.is_won
        assert deal.lines
        assert deal.amount > 0
        assert deal.buyer.tin.endswith("-0001")
        assert deal.buyer.state.startswith("NG-")


def mapped_deal(portal, deal_id: str):
    """The deal as the connector would read it from the sandbox: GET with associations, batch
    read of line items, GET of the company."""
    record = HubSpotSandboxObject.objects.get(portal=portal, pk=int(deal_id))
    deal_json = object_json(
        record,
        properties=[
            "dealname",
            "amount",
            "dealstage",
            "pipeline",
            "closedate",
            "deal_currency_code",
        ],
        associations=("line_items", "companies"),
    )
    line_ids = [int(r["id"]) for r in deal_json["associations"]["line items"]["results"]]
    line_items = [
        object_json(
            line, properties=["name", "quantity", "price", "amount", "hs_discount_percentage"]
        )
        for line in HubSpotSandboxObject.objects.filter(pk__in=line_ids).order_by("pk")
    ]
    [company_id] = {r["id"] for r in deal_json["associations"]["companies"]["results"]}
    company = object_json(
        HubSpotSandboxObject.objects.get(pk=int(company_id)),
        properties=["name", "tin", "address", "city", "state", "country", "phone"],
    )
    return deal_from_hubspot(
        deal_json, line_items=line_items, company=company, won_stage_ids={"closedwon"}
    )


def test_without_shuffle_a_retry_follows_its_first_attempt(portal):
    with Receiver(portal.client_secret) as receiver:
        _, summary = hubspot_traffic(portal, receiver.url, count=12, duplicates=4, seed=3)

    seen = set()
    for event in receiver.events:
        if event.payload["attemptNumber"] > 0:
            assert event.event_id in seen
        seen.add(event.event_id)
    assert len(receiver.events) > summary.events


def test_a_receiver_with_another_secret_refuses_every_delivery(portal):
    with Receiver("another-apps-secret") as receiver:
        _, summary = hubspot_traffic(portal, receiver.url, count=1)

    assert summary.statuses == {401: summary.deliveries_sent}
    assert receiver.refused == summary.deliveries_sent == 1
    assert receiver.events == []


def test_an_unreachable_receiver_is_counted_not_raised(portal):
    with Receiver(portal.client_secret) as receiver:
        url = receiver.url
    _, summary = hubspot_traffic(portal, url, count=1)

    assert summary.statuses == {0: summary.deliveries_sent}


@pytest.mark.parametrize(
    "arguments",
    [
        {"count": -1},
        {"rate": -1},
        {"duplicates": 0},
        {"events_per_delivery": 101},
        {"url": "ftp://example.test/hook"},
    ],
)
def test_bad_options_are_refused(portal, arguments):
    arguments = {"url": "http://127.0.0.1:9/hook", **arguments}
    with pytest.raises(ValueError):
        hubspot_traffic(portal, arguments.pop("url"), **arguments)
