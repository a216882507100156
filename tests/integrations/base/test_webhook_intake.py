"""The shared webhook intake, for both families: a signed body whose text PostgreSQL cannot store
(NUL, a lone surrogate, bytes that are not UTF-8) is refused with a 400 before any event is
written, and quarantined; nothing accepted before is lost."""

import json
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from integrations.base import services
from integrations.base.models import InboundEvent, QuarantinedDelivery
from integrations.crm.hubspot.signatures import hubspot_signed_headers
from integrations.pos.square.signatures import SIGNATURE_HEADER, square_signature
from tests.integrations.crm import support as crm
from tests.integrations.pos import support as pos

SITE = "http://testserver"


@dataclass(frozen=True)
class Family:
    """How a test makes and signs a delivery of one family's platform: ``document`` is the
    decoded JSON body with ``text`` in a free-text field (``text_path`` is its JSONPath) and
    ``extra`` members, if any, in an object of its own at ``{event_path}.extra``."""

    name: str
    connect: Callable
    document: Callable
    text_path: str
    event_path: str
    sign: Callable

    def event(self, document) -> dict:
        """The one event of a document made by ``document``, as the inbox stores it."""
        return document if self.event_path == "$" else document[0]

    def post(self, client, connection, body: bytes, headers: dict, *, uri: str = ""):
        return client.post(
            uri or f"/webhooks/{self.name}/{connection.pk}/",
            data=body,
            content_type="application/json",
            headers=headers,
        )

    def signed_post(self, client, connection, text, extra=None):
        document = self.document(connection, text)
        if extra is not None:
            self.event(document)["extra"] = extra
        # ensure_ascii (json.dumps' default): a lone surrogate travels as its \\uXXXX escape.
        body = json.dumps(document).encode()
        return self.post(client, connection, body, self.sign(connection, body)), document, body


def _square_document(connection, text):
    order = {
        "id": "ORDER-1",
        "state": "COMPLETED",
        "version": 4,
        "location_id": connection.external_location_id,
        "updated_at": "2026-11-20T10:00:00Z",
    }
    envelope = pos.order_event(connection, order)
    envelope["data"]["object"]["order_updated"]["note"] = text
    return envelope


def _square_sign(connection, body):
    signature = square_signature(
        signature_key=connection.webhook_secret,
        notification_url=connection.notification_url,
        body=body,
    )
    return {SIGNATURE_HEADER: signature}


def _hubspot_document(connection, text):
    deal = crm.sandbox_deal(connection)
    event = crm.deal_event(connection, deal, "deal.propertyChange", stage="closedwon")
    return [{**event, "propertyName": "dealname", "propertyValue": text}]


def _hubspot_sign(connection, body):
    return hubspot_signed_headers(
        secret=connection.webhook_secret,
        method="POST",
        uri=connection.notification_url,
        body=body,
    )


FAMILIES = {
    "pos": Family(
        name="pos/square",
        connect=pos.square_connection,
        document=_square_document,
        text_path="$.data.object.order_updated.note",
        event_path="$",
        sign=_square_sign,
    ),
    "crm": Family(
        name="crm/hubspot",
        connect=crm.hubspot_connection,
        document=_hubspot_document,
        text_path="$[0].propertyValue",
        event_path="$[0]",
        sign=_hubspot_sign,
    ),
}


@pytest.fixture(params=sorted(FAMILIES))
def family(request) -> Family:
    return FAMILIES[request.param]


@pytest.fixture
def connection(db, family):
    return family.connect(site_url=SITE)


UNSTORABLE = {
    "NUL": ("Ada\u0000Lovelace", "NUL"),
    "lone surrogate": ("Ada\ud800", "lone surrogate U+D800"),
    "lone low surrogate": ("\udc00Ada", "lone surrogate U+DC00"),
}


@pytest.mark.parametrize("case", sorted(UNSTORABLE))
def test_a_signed_body_with_text_postgresql_cannot_store_is_refused_and_quarantined(
    client, family, connection, case
):
    text, named = UNSTORABLE[case]

    response, _, body = family.signed_post(client, connection, text)

    assert response.status_code == 400
    reason = f"body contains text PostgreSQL cannot store ({named} at {family.text_path})"
    assert response.json() == {"error": reason}
    assert not InboundEvent.objects.exists()
    quarantined = QuarantinedDelivery.objects.get()
    assert quarantined.reason == reason
    assert str(quarantined.connection_id) == str(connection.pk)
    # The raw bytes are kept (a binary column holds any byte): the delivery can be looked at.
    assert bytes(quarantined.body) == body


def test_text_postgresql_cannot_store_in_a_key_is_refused_too(client, family, connection):
    response, _, _ = family.signed_post(client, connection, "Ada", {"a\u0000b": "c"})

    assert response.status_code == 400
    assert response.json()["error"] == (
        "body contains text PostgreSQL cannot store "
        f'(NUL in the key {family.event_path}.extra["a\\u0000b"])'
    )
    assert not InboundEvent.objects.exists()
    assert QuarantinedDelivery.objects.count() == 1


def test_a_signed_body_that_is_not_utf8_is_refused_and_quarantined(client, family, connection):
    body = json.dumps(family.document(connection, "Ada")).encode().replace(b"Ada", b"A\xffda")

    response = family.post(client, connection, body, family.sign(connection, body))

    assert response.status_code == 400
    assert response.json()["error"].startswith(
        "body contains text PostgreSQL cannot store (invalid UTF-8 at byte "
    )
    assert not InboundEvent.objects.exists()
    assert bytes(QuarantinedDelivery.objects.get().body) == body


def test_a_forged_body_with_a_nul_is_refused_as_forged(client, family, connection):
    body = json.dumps(family.document(connection, "Ada\u0000")).encode()

    response = family.post(client, connection, body, family.sign(connection, body + b" "))

    assert response.status_code == 401
    assert response.json() == {"error": "bad signature"}
    assert QuarantinedDelivery.objects.get().reason == "bad signature"


def test_a_header_with_a_nul_does_not_keep_the_delivery_out_of_the_quarantine(
    client, family, connection
):
    body = json.dumps(family.document(connection, "Ada")).encode()
    headers = {**family.sign(connection, body + b" "), "X-Note": "a\u0000b"}

    response = family.post(client, connection, body, headers)

    assert response.status_code == 401
    assert QuarantinedDelivery.objects.get().headers["X-Note"] == "a\\u0000b"


def test_nothing_accepted_before_a_poison_delivery_is_lost(client, family, connection):
    accepted, first, _ = family.signed_post(client, connection, "Ada")
    assert accepted.status_code == 200
    assert accepted.json() == {"stored": 1, "duplicates": 0}

    refused, _, _ = family.signed_post(client, connection, "Ada\u0000")
    later, third, _ = family.signed_post(client, connection, "Grace")

    assert refused.status_code == 400
    assert later.json() == {"stored": 1, "duplicates": 0}
    payloads = list(InboundEvent.objects.order_by("id").values_list("payload", flat=True))
    assert payloads == [family.event(first), family.event(third)]


def test_a_quarantined_poison_delivery_is_refused_again_on_replay(client, family, connection):
    family.signed_post(client, connection, "Ada\u0000")
    quarantined = QuarantinedDelivery.objects.get()

    with pytest.raises(services.DeliveryRefused) as refused:
        services.quarantined_delivery_replay(delivery=quarantined)

    assert refused.value.status == 400
    assert "NUL at" in refused.value.reason
    assert not InboundEvent.objects.exists()
    # Still there for an operator to look at.
    assert QuarantinedDelivery.objects.filter(pk=quarantined.pk).exists()


def test_the_app_endpoint_refuses_and_quarantines_a_poison_delivery(
    client, family, connection, settings
):
    platform = family.name.split("/")[1]
    app_uri = f"{SITE}/webhooks/{family.name}/"
    settings.PLATFORM_APPS = {
        **settings.PLATFORM_APPS,
        platform: {
            **settings.PLATFORM_APPS.get(platform, {}),
            "signing_secret": connection.webhook_secret,
            "notification_url": connection.notification_url,
        },
    }
    body = json.dumps(family.document(connection, "Ada\ud800")).encode()

    response = family.post(client, connection, body, family.sign(connection, body), uri=app_uri)

    assert response.status_code == 400
    assert "lone surrogate U+D800" in response.json()["error"]
    assert not InboundEvent.objects.exists()
    assert QuarantinedDelivery.objects.get().connection_id is None


# Any code point, surrogates and NUL included; keys too.
any_text = st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=0x10FFFF), max_size=6)


def _unstorable(text: str) -> bool:
    return any(character == "\x00" or 0xD800 <= ord(character) <= 0xDFFF for character in text)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(text=any_text, extra=st.dictionaries(any_text, any_text, max_size=3))
def test_a_signed_delivery_with_any_text_is_stored_or_refused_never_a_server_error(
    client, family, connection, text, extra
):
    client.raise_request_exception = False
    # Each example on its own: what one stores or quarantines is rolled back before the next.
    with transaction.atomic():
        response, document, _ = family.signed_post(client, connection, text, extra)

        if any(_unstorable(drawn) for drawn in [text, *extra, *extra.values()]):
            assert response.status_code == 400, response.content
            assert "PostgreSQL cannot store" in response.json()["error"]
            assert not InboundEvent.objects.exists()
            assert QuarantinedDelivery.objects.count() == 1
        else:
            assert response.status_code == 200, response.content
            stored = InboundEvent.objects.get()
            assert stored.payload == family.event(document)
            assert not QuarantinedDelivery.objects.exists()
        transaction.set_rollback(True)
