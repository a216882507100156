"""Connecting Odoo and reading it, over real HTTP against the sandbox, for JSON-2 (19.0) and
/jsonrpc (17.0): the key tried before it is stored, refused keys named, a revoked key marking
the connection, change searches that neither loop nor lose records sharing a second, and a
cancelled invoice already signed flagged for the operator."""

import json
import random
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.utils import timezone

from integrations.base import connections, pipeline
from integrations.base.errors import AuthenticationError
from integrations.erp.models import ERPConnection, ERPDocument
from integrations.erp.odoo import connector as odoo_connector
from integrations.erp.odoo.client import Json2Client, JsonRpcClient
from integrations.erp.odoo.connector import OdooConnector
from sandboxes.odoo import server
from sandboxes.odoo.models import OdooSandboxRecord
from tests.factories import MembershipFactory
from tests.integrations.erp.odoo.support import MAJORS, database_of, invoice_post, odoo_connection

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()


def _credentials(connection) -> dict:
    return json.loads(connection.credentials_encrypted)


@pytest.mark.parametrize(("major", "flavour"), [(19, Json2Client), (17, JsonRpcClient)])
def test_the_version_decides_the_api(live_server, major, flavour):
    connection = odoo_connection(site_url=live_server.url, major=major)

    assert type(OdooConnector(connection).client) is flavour
    OdooConnector(connection).test_connection()


@pytest.mark.parametrize("major", MAJORS)
def test_credentials_are_tried_then_stored_encrypted_with_a_secret_url(live_server, major):
    sandboxed = odoo_connection(site_url=live_server.url, major=major)
    owner = MembershipFactory(role="owner")

    connection = connections.connection_credentials_connect(
        family="erp",
        platform="odoo",
        organization=owner.organization,
        user=owner.user,
        credentials=_credentials(sandboxed),
        site_url=live_server.url,
    )

    assert connection.account_id == sandboxed.account_id
    assert connection.sync_every_minutes == 1
    assert _credentials(connection)["api_key"] == database_of(sandboxed).api_key
    assert len(connection.webhook_secret) >= 43
    assert connection.webhook_url.endswith(f"/{connection.pk}/{connection.webhook_secret}/")


@pytest.mark.parametrize("major", MAJORS)
def test_a_wrong_key_is_refused_and_nothing_stored(live_server, major):
    sandboxed = odoo_connection(site_url=live_server.url, major=major)
    owner = MembershipFactory(role="owner")
    before = ERPConnection.objects.count()

    with pytest.raises(connections.ConnectError, match="refused these credentials"):
        connections.connection_credentials_connect(
            family="erp",
            platform="odoo",
            organization=owner.organization,
            user=owner.user,
            credentials={**_credentials(sandboxed), "api_key": "not-the-key"},
            site_url=live_server.url,
        )
    assert ERPConnection.objects.count() == before


@pytest.mark.parametrize("major", MAJORS)
def test_a_revoked_key_marks_the_connection_for_reauthorising(live_server, major, mailoutbox):
    connection = odoo_connection(site_url=live_server.url, major=major)
    OdooConnector(connection).test_connection()
    database = database_of(connection)
    database.api_key_revoked = True
    database.save(update_fields=["api_key_revoked"])
    # The flavour and user id are known already: the next call itself meets the refusal.
    invoice_post(connection)

    assert pipeline.connection_sync(family="erp", connection_id=connection.pk) == "failed"
    connection.refresh_from_db()
    assert connection.health == ERPConnection.Health.NEEDS_REAUTH
    with pytest.raises(AuthenticationError):
        OdooConnector(connection).test_connection()
    # The owner is told once, however often Odoo refuses again.
    assert pipeline.connection_sync(family="erp", connection_id=connection.pk) == "failed"
    [mail] = mailoutbox
    assert mail.subject == "Re-authorise Odoo on TaxPoynt"
    assert connection.user.email in mail.to and "new API key" in mail.body
    assert "/integrations/" in mail.body


@pytest.mark.parametrize("major", MAJORS)
def test_records_sharing_a_second_are_each_read_once(live_server, monkeypatch, major):
    monkeypatch.setattr(odoo_connector, "SEARCH_PAGE_SIZE", 2)
    connection = odoo_connection(site_url=live_server.url, major=major)
    moves = [invoice_post(connection, rng=random.Random(n)) for n in range(5)]
    second = timezone.now().replace(microsecond=0) - timedelta(seconds=30)
    # Five changes in one second, their microseconds in the opposite order of their ids.
    for index, move in enumerate(moves):
        OdooSandboxRecord.objects.filter(pk=move.pk).update(
            write_date=second + timedelta(microseconds=900_000 - index * 100_000)
        )
    bound = OdooConnector(connection)

    seen, next_anchor = _search(bound, anchor=second - timedelta(minutes=1))

    # Odoo orders them by their hidden microseconds: the second is read alone, by id.
    assert sorted(seen) == sorted(str(move.pk) for move in moves)
    assert next_anchor <= second


def _search(bound, *, anchor):
    """Every page of one search from ``anchor``: the ids read, and the next search's anchor."""
    cursor, seen = "", []
    for _ in range(20):
        page = bound.documents_page(modified_after=anchor, after_cursor=cursor)
        seen += [document.external_id for document in page.documents]
        if not page.has_more:
            return seen, page.modified_after
        anchor, cursor = page.modified_after, page.after_cursor
    pytest.fail("the pages do not end")


@pytest.mark.parametrize("major", MAJORS)
def test_a_signed_invoice_cancelled_in_odoo_is_flagged_not_deleted(live_server, monkeypatch, major):
    from invoices.tasks import invoice_advance

    monkeypatch.setattr(invoice_advance, "apply_async", lambda **kwargs: None)
    connection = odoo_connection(site_url=live_server.url, major=major)
    move = invoice_post(connection)
    pipeline.connection_sync(family="erp", connection_id=connection.pk)
    document = ERPDocument.objects.get(connection=connection)
    assert document.invoice_id

    server.moves_cancel(database_of(connection), [move.pk], notify=False)
    ERPConnection.objects.filter(pk=connection.pk).update(sync_cursor="")
    pipeline.connection_sync(family="erp", connection_id=connection.pk)

    document.refresh_from_db()
    assert document.invoice_id and document.document_state == "cancel"
    assert document.status == ERPDocument.Status.FAILED
    assert "Cancelled in the ERP" in document.processing_errors["error_message"]
