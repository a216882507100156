import os
import sys
from pathlib import Path

import pytest
from rest_framework.test import APIClient

from accounts.models import Membership
from tests.factories import MembershipFactory, OrganizationFactory, UserFactory

PROJECT_ROOT = Path(__file__).resolve().parent.parent


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
