"""The kit's one fault schema and store: per account or for every account, from code, from the
admin, applied at once."""

import pytest
from django.core.cache import cache
from django.core.exceptions import ValidationError

from sandboxes.kit.faults import cache_key, faults_get, faults_reset, faults_set
from sandboxes.kit.models import SandboxFaults

ADD = "/admin/sandbox_kit/sandboxfaults/add/"


@pytest.fixture(autouse=True)
def fresh_cache():
    # The rows go with each test's database; their cached copies must go too.
    for account in ("", "acct-1", "acct-2"):
        cache.delete(cache_key(sandbox="firs", account=account))
    yield
    for account in ("", "acct-1", "acct-2"):
        cache.delete(cache_key(sandbox="firs", account=account))


def _faults_form(**changes):
    form = {
        "sandbox": "firs",
        "account": "",
        "latency_ms": 0,
        "latency_jitter_ms": 0,
        "server_error_rate": 0,
        "server_error_status": 503,
        "rate_limit_rate": 0,
        "retry_after_seconds": 1,
        "platform_error_rate": 0,
        "dropped_reply_rate": 0,
        "dropped_reply_as": "close",
        "only_operations": "",
    }
    form.update(changes)
    return form


@pytest.mark.django_db
def test_an_accounts_own_faults_win_over_every_accounts():
    faults_set(sandbox="firs", changes={"server_error_rate": 0.5})
    faults_set(sandbox="firs", account="acct-1", changes={"rate_limit_rate": 1})

    own, other = (
        faults_get(sandbox="firs", account="acct-1"),
        faults_get(sandbox="firs", account="acct-2"),
    )
    assert (own.rate_limit_rate, own.server_error_rate) == (1, 0)
    assert (other.rate_limit_rate, other.server_error_rate) == (0, 0.5)

    faults_reset(sandbox="firs", account="acct-1")
    assert faults_get(sandbox="firs", account="acct-1").server_error_rate == 0.5


@pytest.mark.django_db
@pytest.mark.parametrize(
    "changes",
    [
        {"server_error_rate": 1.5},
        {"server_error_rate": True},
        {"server_error_status": 404},
        {"latency_ms": -1},
        {"retry_after_seconds": "2"},
        {"retry_after_as_http_date": 1},
        {"only_operations": "teleport"},
        {"blackout": True},
    ],
)
def test_bad_settings_are_refused_and_change_nothing(changes):
    with pytest.raises(ValidationError):
        faults_set(sandbox="firs", changes=changes)
    assert not SandboxFaults.objects.exists()


@pytest.mark.django_db
def test_faults_switched_in_the_admin_apply_at_once(admin_client):
    assert faults_get(sandbox="firs").server_error_rate == 0  # now cached
    added = admin_client.post(ADD, _faults_form(server_error_rate=1, only_operations="sign"))
    assert added.status_code == 302, added.content
    row = SandboxFaults.objects.get()
    assert faults_get(sandbox="firs").server_error_rate == 1

    admin_client.post(
        f"/admin/sandbox_kit/sandboxfaults/{row.pk}/change/", _faults_form(account="acct-1")
    )
    # Moved to one account: every other account has none again.
    assert faults_get(sandbox="firs").server_error_rate == 0
    assert SandboxFaults.objects.get().account == "acct-1"


@pytest.mark.django_db
def test_the_admin_refuses_unknown_operations(admin_client):
    page = admin_client.post(ADD, _faults_form(only_operations="sign,teleport"))
    assert page.status_code == 200
    assert b"Unknown operations: teleport" in page.content
    assert not SandboxFaults.objects.exists()
