from datetime import timedelta

import pytest
from django.utils import timezone

from taxpoynt.celery import QUEUES
from taxpoynt.ops.models import WorkerHeartbeat
from taxpoynt.ops.schedules import SCHEDULE
from taxpoynt.ops.services import beat_schedule_install, heartbeat_record
from tests.factories import UserFactory


@pytest.mark.django_db
def test_health_is_503_until_every_queue_has_a_worker(client):
    heartbeat_record(queue="realtime", hostname="w1")
    response = client.get("/health/")
    assert response.status_code == 503
    checks = response.json()["checks"]
    assert checks["database"]["ok"] and checks["broker"]["ok"]
    assert checks["queue:realtime"]["ok"]
    assert checks["queue:batch"] == {"ok": False, "error": "no worker seen recently"}


@pytest.mark.django_db
def test_health_is_200_with_fresh_heartbeats_and_503_when_stale(client, settings):
    for queue in QUEUES:
        heartbeat_record(queue=queue, hostname="w1")
    assert client.get("/health/").status_code == 200
    WorkerHeartbeat.objects.filter(queue="standard").update(
        seen_at=timezone.now() - timedelta(seconds=settings.WORKER_HEARTBEAT_MAX_AGE + 1)
    )
    assert client.get("/health/").status_code == 503


@pytest.mark.django_db
def test_metrics_are_exported_to_the_holder_of_the_token(client, settings):
    settings.METRICS_TOKEN = "scrape-token"

    response = client.get("/metrics", headers={"Authorization": "Bearer scrape-token"})

    assert response.status_code == 200
    assert b"django_http_requests" in response.content


@pytest.mark.django_db
def test_metrics_are_exported_to_superusers(client):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))

    assert client.get("/metrics").status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("token", "authorization", "staff"),
    [
        ("scrape-token", "", None),
        ("scrape-token", "Bearer wrong-token", None),
        ("scrape-token", "Basic scrape-token", None),
        ("", "Bearer ", None),
        # Signed in, but not an operator.
        ("scrape-token", "", False),
        # A support operator: limited to their organizations, and metrics tell every tenant's.
        ("scrape-token", "", True),
    ],
)
def test_metrics_are_closed_to_everyone_else(client, settings, token, authorization, staff):
    settings.METRICS_TOKEN = token
    if staff is not None:
        client.force_login(UserFactory(is_staff=staff))
    headers = {"Authorization": authorization} if authorization else {}

    response = client.get("/metrics", headers=headers)

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="metrics"'
    assert b"django_http_requests" not in response.content


@pytest.mark.django_db
def test_beat_schedule_install_is_idempotent():
    from django_celery_beat.models import PeriodicTask

    first = beat_schedule_install()
    second = beat_schedule_install()
    assert first["created"] == len(SCHEDULE)
    assert second == {"created": 0, "updated": len(SCHEDULE), "removed": 0}
    assert set(QUEUES) <= {task.queue for task in PeriodicTask.objects.all()}


@pytest.mark.django_db
def test_a_new_beat_entry_is_due_at_once_and_a_reinstall_keeps_its_last_run():
    from django_celery_beat.models import PeriodicTask
    from django_celery_beat.schedulers import ModelEntry

    beat_schedule_install()
    code_lists = PeriodicTask.objects.get(task="invoices.refresh_code_lists")
    # The daily refresh of FIRS's code lists runs at beat's first tick, not a day later.
    assert ModelEntry(code_lists).is_due().is_due

    ran_at = timezone.now()
    PeriodicTask.objects.filter(pk=code_lists.pk).update(last_run_at=ran_at)
    beat_schedule_install()
    code_lists.refresh_from_db()
    assert code_lists.last_run_at == ran_at
    assert not ModelEntry(code_lists).is_due().is_due
