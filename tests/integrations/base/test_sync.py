"""The incremental sync's schedule, for every family that pulls its changes on one: each
connection is synced on its own schedule, and old incremental runs are pruned per family while
back-fills are kept."""

from datetime import timedelta

import pytest
from django.utils import timezone

from integrations.base import families, pipeline
from integrations.base.models import SyncRun
from integrations.base.tasks import family_tasks
from tests.factories import CRMConnectionFactory, ERPConnectionFactory, POSConnectionFactory

pytestmark = pytest.mark.django_db

CONNECTION_FACTORIES = {
    "crm": CRMConnectionFactory,
    "erp": ERPConnectionFactory,
    # A POS connection is polled only when its platform can be (0 by default).
    "pos": lambda: POSConnectionFactory(sync_every_minutes=1),
}


def test_every_family_that_syncs_is_checked_here():
    syncing = {
        name for name in ("pos", "crm", "erp") if families.get(name).adapter.incremental_sync
    }
    assert syncing == set(CONNECTION_FACTORIES)


@pytest.mark.parametrize("family", sorted(CONNECTION_FACTORIES))
def test_connections_are_synced_on_their_own_schedule(family, monkeypatch, ledgerly):
    connection = CONNECTION_FACTORIES[family]()
    rows = type(connection).objects.filter(pk=connection.pk)
    queued = []
    monkeypatch.setattr(
        family_tasks(family).sync_connection,
        "apply_async",
        lambda *, kwargs, queue: queued.append((kwargs, queue)),
    )

    assert pipeline.connections_sync_due(family=family) == 1
    rows.update(last_sync_at=timezone.now(), sync_every_minutes=5)
    assert pipeline.connections_sync_due(family=family) == 0
    rows.update(last_sync_at=timezone.now() - timedelta(minutes=5))
    assert pipeline.connections_sync_due(family=family) == 1
    rows.update(sync_every_minutes=0)
    assert pipeline.connections_sync_due(family=family) == 0
    rows.update(sync_every_minutes=5, is_active=False)
    assert pipeline.connections_sync_due(family=family) == 0
    assert queued == [({"connection_id": str(connection.pk)}, families.get(family).queue)] * 2


@pytest.mark.parametrize("family", sorted(CONNECTION_FACTORIES))
def test_old_incremental_runs_are_pruned_and_back_fills_kept(family, settings, ledgerly):
    settings.SYNC_RUNS_KEEP_DAYS = 14
    other = "crm" if family == "pos" else "pos"
    made = {}
    for run_family, kind, age in (
        (family, "incremental", 15),
        (family, "incremental", 13),
        (family, "backfill", 30),
        (other, "incremental", 15),  # another family's: its own prune decides
    ):
        connection = CONNECTION_FACTORIES[run_family]()
        run = SyncRun.objects.create(
            family=run_family,
            platform=connection.platform,
            connection_id=connection.pk,
            organization=connection.organization,
            kind=kind,
        )
        SyncRun.objects.filter(pk=run.pk).update(created_at=timezone.now() - timedelta(days=age))
        made[(run_family, kind, age)] = run.pk

    assert pipeline.incremental_runs_prune(family=family) == 1

    kept = set(SyncRun.objects.values_list("pk", flat=True))
    assert kept == {
        made[(family, "incremental", 13)],
        made[(family, "backfill", 30)],
        made[(other, "incremental", 15)],
    }
