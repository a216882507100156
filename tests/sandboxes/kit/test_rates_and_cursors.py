"""The kit's rate windows and signed keyset cursors, apart from any sandbox."""

import uuid
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.test import override_settings
from django.utils import timezone

from sandboxes.kit.cursors import keyset_page
from sandboxes.kit.rates import window_count, windows_count
from sandboxes.square.api import sandbox_merchant_create
from sandboxes.square.models import SquareSandboxOrder


class Refused(Exception):
    pass


def test_requests_are_counted_per_credential_and_window():
    cache.clear()
    start = 1_000_000.0  # a window boundary for 10-second windows

    def count(credential, now):
        return window_count(sandbox="kit", kind="t", credential=credential, seconds=10, now=now)

    assert [count("a", start + 1).used, count("a", start + 9).used] == [1, 2]
    assert count("b", start + 9).used == 1
    later = count("a", start + 10.5)
    assert (later.used, later.ends_in) == (1, 9.5)


LOCAL_CACHE = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}


@pytest.mark.parametrize("caches", [None, LOCAL_CACHE], ids=["redis", "another backend"])
def test_a_requests_windows_are_counted_together_on_any_cache(caches):
    start = 2_000_000.0  # a window boundary for 1- and 10-second windows
    credential = str(uuid.uuid4())  # counters of its own, whatever ran before

    def counts(now):
        windows = (("ten", 10), ("second", 1))
        found = windows_count(sandbox="kit", credential=credential, windows=windows, now=now)
        return [(count.used, count.ends_in) for count in found]

    with override_settings(**({"CACHES": caches} if caches else {})):
        assert counts(start + 0.5) == [(1, 9.5), (1, 0.5)]
        assert counts(start + 0.75) == [(2, 9.25), (2, 0.25)]
        assert counts(start + 1.5) == [(3, 8.5), (1, 0.5)]


@pytest.mark.django_db
def test_keyset_pages_run_to_their_end_and_refuse_a_cursor_for_another_query():
    merchant = sandbox_merchant_create()
    now = timezone.now()
    for number in range(5):
        SquareSandboxOrder.objects.create(
            merchant=merchant,
            order_id=f"order-{number}",
            location_id="L1",
            state="COMPLETED",
            created_at=now - timedelta(minutes=number),
            updated_at=now,
            data={},
        )
    rows = SquareSandboxOrder.objects.all()

    def page(cursor=None, query="all"):
        return keyset_page(
            rows,
            sort_field="created_at",
            id_field="order_id",
            descending=False,
            limit=2,
            cursor=cursor,
            query=query,
            salt="kit-test",
            invalid=Refused,
        )

    seen, cursor = [], None
    while True:
        found, cursor = page(cursor)
        seen += [row.order_id for row in found]
        if cursor is None:
            break
    assert seen == [f"order-{number}" for number in reversed(range(5))]

    _, first_cursor = page()
    for refused in (first_cursor[:-2] + "xx", 7, "é"):
        with pytest.raises(Refused):
            page(refused)
    with pytest.raises(Refused):
        page(first_cursor, query="another")
