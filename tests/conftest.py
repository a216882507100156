import os
import re
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from django.core import mail
from django.core.cache import cache
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.test import APIClient

from accounts.api_tokens.services import api_token_create
from accounts.models import Membership
from integrations.base import registry
from taxpoynt.lib.priority import REALTIME_LATE_KEY
from tests.factories import MembershipFactory, OrganizationFactory, UserFactory
from tests.integrations.erp.support import LEDGERS, PLATFORM

PROJECT_ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def realtime_on_time():
    """No test starts with batch work held back by another test's late sale."""
    cache.delete(REALTIME_LATE_KEY)


@pytest.fixture
def org_a(db):
    return OrganizationFactory(legal_name="Alpha Foods Ltd")


@pytest.fixture
def org_b(db):
    return OrganizationFactory(legal_name="Bravo Stores Ltd")


@pytest.fixture
def owner_a(org_a):
    return MembershipFactory(organization=org_a, role=Membership.Role.OWNER).user


@pytest.fixture
def owner_b(org_b):
    return MembershipFactory(organization=org_b, role=Membership.Role.OWNER).user


@pytest.fixture
def api_client():
    return APIClient()


@pytest.fixture
def token_client(db):
    """An API client authenticated with the user's API token (a fresh client per call)."""

    def make(user):
        issued = api_token_create(user=user, name="tests")
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {issued.raw}")
        return client

    return make


INVITATION_LINK = re.compile(r"https?://[^/\s]+/invitations/([A-Za-z0-9_-]+)/")


@pytest.fixture
def sent_invitation_token():
    """The token in the link of the last invitation e-mailed to ``address``."""

    def find(address: str) -> str:
        for message in reversed(mail.outbox):
            if message.to == [address]:
                return INVITATION_LINK.search(message.body).group(1)
        raise AssertionError(f"no invitation e-mailed to {address}")

    return find


@pytest.fixture
def user_factory(db):
    return UserFactory


@pytest.fixture
def process_env():
    """Environment for a child process (manage.py, a Celery worker) that must use this test run's
    database and settings."""

    def make(**overrides):
        from django.db import connection

        env = dict(os.environ)
        env["DJANGO_SETTINGS_MODULE"] = "taxpoynt.settings.test"
        env["DATABASE_NAME"] = connection.settings_dict["NAME"]
        env["PYTHONPATH"] = str(PROJECT_ROOT)
        env.update(overrides)
        return env

    return make


@pytest.fixture
def python_bin():
    return sys.executable


@pytest.fixture
def start_worker(process_env):
    """Start real Celery worker processes (this run's settings and database); stopped at the end.

    ``start_worker("realtime", pool="threads", concurrency=8, env={...})`` returns the Popen,
    whose ``hostname`` attribute is the worker's node name.
    """
    started = []

    def start(queue, *, pool="prefork", concurrency=1, env=None):
        hostname = f"{queue}-{uuid.uuid4().hex[:8]}@test"
        process = subprocess.Popen(
            [
                str(Path(sys.executable).parent / "celery"),
                "-A",
                "taxpoynt",
                "worker",
                "--queues",
                queue,
                "--hostname",
                hostname,
                "--pool",
                pool,
                "--concurrency",
                str(concurrency),
                "--loglevel",
                "WARNING",
                "--without-gossip",
                "--without-mingle",
            ],
            env=process_env(**(env or {})),
        )
        process.hostname = hostname
        started.append(process)
        return process

    yield start
    for process in started:
        process.terminate()
    for process in started:
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture
def clean_queues():
    """Empty every queue before and after: a test's leftovers must not feed the next one."""
    from taxpoynt.celery import app as celery_app

    celery_app.control.purge()
    yield
    celery_app.control.purge()


@pytest.fixture
def ledgerly():
    """The registry with the test-only ERP platform in it, for this test only; its ledgers."""
    registry.load(
        {**registry.CONNECTORS, PLATFORM: "tests.integrations.erp.support.LedgerlyConnector"}
    )
    LEDGERS.clear()
    yield LEDGERS
    LEDGERS.clear()
    registry.load()


def otp_verified_login(client, user) -> None:
    """Signs ``user`` in on ``client`` as the admin requires: with a confirmed authenticator
    that this session has verified (what entering a code on the second-factor page does)."""
    device = TOTPDevice.objects.create(user=user, name="tests", confirmed=True)
    client.force_login(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()


@pytest.fixture
def staff_login():
    """Signs a staff user in with a verified second factor (``staff_login(client, user)``)."""
    return otp_verified_login


@pytest.fixture
def admin_client(client, admin_user):
    """pytest-django's admin client, past the admin's second factor."""
    otp_verified_login(client, admin_user)
    return client
