"""What the one ingest pipeline guarantees every family alike, run per family against its
platform's sandbox (Square for POS, HubSpot for CRM, the test-only Ledgerly for ERP) and the FIRS
sandbox over real HTTP (live_server): the sweeper recovers a lost publish and a row left without
its invoice, an unreachable platform leaves the event pending for a retry, a revoked credential
fails the event and the connection."""

from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

import pytest
from django.core.cache import cache
from django.utils import timezone

from integrations.base import families, pipeline
from integrations.base.events import RetryLater
from integrations.base.models import InboundEvent
from integrations.base.tasks import family_tasks
from invoices.firs.client import SharedCircuitBreaker
from invoices.models import Invoice
from invoices.tasks import invoice_advance
from sandboxes.firs.server import FAULTS_CACHE_KEY
from sandboxes.hubspot.models import HubSpotSandboxPortal
from sandboxes.square.models import SquareSandboxMerchant
from tests.integrations.crm.support import deal_move, hubspot_connection, sandbox_deal, stored
from tests.integrations.erp.support import LEDGERS, ledgerly_connection, ten_ten_invoice
from tests.integrations.pos.support import completed_order, order_event, square_connection
from tests.invoices.pipeline_support import sandbox_organization

pytestmark = pytest.mark.django_db(transaction=True)


@dataclass(frozen=True)
class FamilyKit:
    """How a test makes a family's connection and a stored event about a fresh invoiceable
    source, and how it cuts the platform off (None: its test platform, in process, has no such
    failure)."""

    connect: Callable
    event_about_new_source: Callable
    unreachable: Callable | None = None
    revoke: Callable | None = None


def _pos_event(connection) -> InboundEvent:
    envelope = order_event(connection, completed_order(connection))
    return InboundEvent.objects.create(
        family="pos",
        platform="square",
        connection_id=connection.pk,
        event_id=envelope["event_id"],
        event_type=envelope["type"],
        object_id=envelope["data"]["id"],
        payload=envelope,
        received_at=timezone.now(),
    )


def _erp_event(connection) -> InboundEvent:
    document = ten_ten_invoice(f"INV-{InboundEvent.objects.count() + 1}")
    LEDGERS.setdefault(connection.account_id, {})[document.external_id] = document
    return InboundEvent.objects.create(
        family="erp",
        platform="ledgerly",
        connection_id=connection.pk,
        event_id=f"ev-{document.external_id}",
        event_type="invoice.posted",
        object_id=document.external_id,
        payload={"document_id": document.external_id},
        received_at=timezone.now(),
    )


def _erp_connect(site_url):
    return ledgerly_connection(
        organization=sandbox_organization(base_url=f"{site_url}/sandbox/firs")
    )


def _base_url_unreachable(connection) -> None:
    """The platform's address now answers nothing (port 9, discard)."""
    path = urlsplit(connection.base_url).path
    type(connection).objects.filter(pk=connection.pk).update(base_url=f"http://127.0.0.1:9{path}")


KITS = {
    "pos": FamilyKit(
        connect=lambda site_url: square_connection(site_url=site_url),
        event_about_new_source=_pos_event,
        unreachable=_base_url_unreachable,
        revoke=lambda connection: SquareSandboxMerchant.objects.filter(
            merchant_id=connection.account_id
        ).update(access_token="rotated"),
    ),
    "crm": FamilyKit(
        connect=lambda site_url: hubspot_connection(site_url=site_url),
        event_about_new_source=lambda connection: stored(
            connection, deal_move(connection, sandbox_deal(connection), "closedwon")
        ),
        unreachable=_base_url_unreachable,
        revoke=lambda connection: HubSpotSandboxPortal.objects.filter(
            hub_id=int(connection.account_id)
        ).update(private_app_token="pat-na1-rotated"),
    ),
    "erp": FamilyKit(connect=_erp_connect, event_about_new_source=_erp_event),
}


@pytest.fixture(params=sorted(KITS))
def family(request):
    return request.param


@pytest.fixture
def kit(family, ledgerly) -> FamilyKit:
    return KITS[family]


@pytest.fixture
def connection(live_server, kit):
    cache.delete(FAULTS_CACHE_KEY)
    SharedCircuitBreaker(name=live_server.url.split("//")[1]).reset()
    return kit.connect(live_server.url)


@pytest.fixture
def published(monkeypatch, family):
    """Tasks handed to a queue: (name, keyword arguments, queue)."""
    sent = []
    tasks = family_tasks(family)
    for task in (tasks.process_event, tasks.invoice_source, invoice_advance):
        monkeypatch.setattr(
            task,
            "apply_async",
            lambda *, kwargs, queue, countdown=None, task=task: sent.append(
                (task.name, kwargs, queue)
            ),
        )
    return sent


def _process(family, event, token="task-1"):
    status = pipeline.event_process(family=family, event_id=event.pk, claim_token=token)
    event.refresh_from_db()
    return status


def test_a_crash_between_commit_and_publish_is_recovered_by_the_sweeper(
    family, kit, connection, published, settings
):
    """The event is stored and acknowledged, but its task was never published."""
    settings.INTEGRATIONS_SWEEP_AFTER_SECONDS = 0
    event = kit.event_about_new_source(connection)
    adapter, queue = families.get(family).adapter, families.get(family).queue

    assert pipeline.sweep(family=family) == {"events": 1, adapter.rows_name: 0}
    assert published == [(f"{family}.process_event", {"event_id": event.pk}, queue)]
    _process(family, event)
    row = adapter.source_model.objects.select_related("invoice").get()
    assert row.invoice.status == Invoice.Status.CONFIRMED
    assert pipeline.sweep(family=family) == {"events": 0, adapter.rows_name: 0}


def test_a_source_left_without_its_invoice_is_invoiced_by_the_sweeper(
    family, kit, connection, published, settings
):
    settings.INTEGRATIONS_SWEEP_AFTER_SECONDS = 0
    _process(family, kit.event_about_new_source(connection))
    adapter, queue = families.get(family).adapter, families.get(family).queue
    row = adapter.source_model.objects.select_related("invoice").get()
    payable = row.invoice.payable_amount
    # As if the worker died after storing the row and before creating the invoice.
    Invoice.objects.all().delete()
    adapter.source_model.objects.filter(pk=row.pk).update(
        status="pending", invoice=None, invoice_generated=False, signed_at=None
    )

    assert pipeline.sweep(family=family) == {"events": 0, adapter.rows_name: 1}
    task_name = f"{family}.{adapter.invoice_task_name}"
    assert published[-1] == (task_name, {adapter.source_id_kwarg: str(row.pk)}, queue)
    again = pipeline.source_invoice_again(family=family, source_id=row.pk, claim_token="t")

    row.refresh_from_db()
    assert again == "invoiced" and row.invoice.status == Invoice.Status.CONFIRMED
    assert row.invoice.payable_amount == payable
    # Done: neither the sweeper nor a retry queues it again.
    assert pipeline.sweep(family=family) == {"events": 0, adapter.rows_name: 0}
    assert pipeline.source_retry(row=row, actor="operator") is False


@pytest.mark.parametrize("family", sorted(f for f, kit in KITS.items() if kit.unreachable))
def test_an_unreachable_platform_leaves_the_event_pending_for_a_retry(kit, family, connection):
    event = kit.event_about_new_source(connection)
    kit.unreachable(connection)

    with pytest.raises(RetryLater):
        _process(family, event)
    event.refresh_from_db()
    assert (event.status, event.attempts) == ("pending", 1)


@pytest.mark.parametrize("family", sorted(f for f, kit in KITS.items() if kit.revoke))
def test_a_revoked_credential_fails_the_event_and_the_connection(kit, family, connection):
    event = kit.event_about_new_source(connection)
    kit.revoke(connection)

    assert _process(family, event) == "failed"
    assert "401" in event.error
    connection.refresh_from_db()
    assert connection.health == "needs_reauth"
