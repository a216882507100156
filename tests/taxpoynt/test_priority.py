"""Live sales first: a late realtime sale holds back-fills and their invoices for a while."""

import threading

import pytest
from django.core.cache import cache

from invoices.tasks import invoice_advance
from taxpoynt.lib.priority import (
    REALTIME_LATE_KEY,
    batch_wait_for_realtime,
    realtime_is_late,
    realtime_latency_note,
)


@pytest.fixture
def quick_waits(settings):
    settings.REALTIME_LATE_SECONDS = 1.0
    settings.BATCH_WAIT_POLL_SECONDS = 0.02
    settings.BATCH_MAX_WAIT_SECONDS = 5.0
    return settings


def test_a_sale_signed_in_time_holds_nothing_back(quick_waits):
    realtime_latency_note(seconds=0.99)
    assert not realtime_is_late()
    assert batch_wait_for_realtime() < 0.02


def test_batch_work_sleeps_until_live_sales_are_on_time_again(quick_waits):
    realtime_latency_note(seconds=1.5)
    assert realtime_is_late()
    threading.Timer(0.3, cache.delete, args=[REALTIME_LATE_KEY]).start()

    waited = batch_wait_for_realtime()

    assert 0.3 <= waited < quick_waits.BATCH_MAX_WAIT_SECONDS
    assert not realtime_is_late()


def test_batch_work_is_slowed_never_starved(quick_waits):
    quick_waits.BATCH_MAX_WAIT_SECONDS = 0.2
    realtime_latency_note(seconds=30)

    waited = batch_wait_for_realtime()

    assert 0.2 <= waited < 1.0
    assert realtime_is_late()


@pytest.fixture
def waits_and_runs(monkeypatch):
    calls = []
    monkeypatch.setattr(
        "invoices.tasks.batch_wait_for_realtime", lambda: calls.append("wait") or 0.0
    )
    monkeypatch.setattr(
        "invoices.services.invoice_advance",
        lambda *, invoice_id, claim_token: calls.append(invoice_id) or "confirmed",
    )
    return calls


def test_a_batch_invoice_waits_for_live_sales_first(waits_and_runs):
    invoice_advance.apply(kwargs={"invoice_id": 7}, routing_key="batch").get()
    assert waits_and_runs == ["wait", 7]


@pytest.mark.parametrize("queue", ["realtime", "standard"])
def test_live_and_crm_invoices_never_wait(waits_and_runs, queue):
    invoice_advance.apply(kwargs={"invoice_id": 8}, routing_key=queue).get()
    assert waits_and_runs == [8]
