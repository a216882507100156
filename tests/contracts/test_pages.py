"""A platform that pulls (back-fill or incremental sync) pages its sandbox account to the end:
every record once, over several pages, and then it stops."""

import pytest

from integrations.base.connectors import Capability

CAPABILITY = (Capability.BACKFILL, Capability.INCREMENTAL_SYNC)
PAGE_SIZE = 3

pytestmark = pytest.mark.django_db(transaction=True)


def _sales_pages(connector, seeded):
    cursor = ""
    while True:
        page = connector.sales_page(start=seeded.since, end=seeded.until, cursor=cursor)
        yield page.records, [sale.external_id for sale in page.sales], page.problems
        if not page.cursor:
            return
        cursor = page.cursor


def _deals_pages(connector, seeded):
    anchor, cursor = seeded.since, ""
    while True:
        page = connector.deals_page(modified_after=anchor, after_cursor=cursor)
        yield page.records, [deal.external_id for deal in page.deals], page.problems
        if not page.has_more:
            return
        anchor, cursor = page.modified_after, page.after_cursor


def _documents_pages(connector, seeded):
    anchor, cursor = seeded.since, ""
    while True:
        page = connector.documents_page(modified_after=anchor, after_cursor=cursor)
        yield page.records, [doc.external_id for doc in page.documents], page.problems
        if not page.has_more:
            return
        anchor, cursor = page.modified_after, page.after_cursor


# The family's way through its pages; a new family adds its own here.
PAGERS = {"pos": _sales_pages, "crm": _deals_pages, "erp": _documents_pages}


def test_pages_run_to_their_end_with_every_record_once(
    connector, contract, live_server, monkeypatch
):
    assert connector.family in PAGERS, f"add the {connector.family} family to PAGERS"
    seeded = contract.seeded_account(
        site_url=live_server.url, page_size=PAGE_SIZE, monkeypatch=monkeypatch
    )
    bound = connector(seeded.connection)
    pages, seen = 0, []
    for records, ids, problems in PAGERS[connector.family](bound, seeded):
        pages += 1
        assert pages <= seeded.records + 1, "the pages do not end"
        assert records <= PAGE_SIZE and not problems
        seen += ids

    assert pages > 1
    assert len(seen) == len(set(seen)) == seeded.records
