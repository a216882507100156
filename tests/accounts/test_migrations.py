"""Migration 0003 of accounts: DRF's clear-text tokens become hashed ones that keep working, and
the clear table goes; a fresh database (no such table) migrates too."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from accounts.api_tokens.models import ApiToken
from tests.factories import UserFactory

BEFORE = [("accounts", "0002_organization_firs_crypto_keys")]
LEGACY_KEY = "9944b09199c62bcf9418ad846dd0e4bbdfc6ee4b"  # shaped like a DRF authtoken key


def _migrate(targets) -> None:
    # The test's rows (its memberships) leave deferred foreign-key checks pending in its
    # transaction, and PostgreSQL alters no table with pending checks: a later migration that
    # alters accounts_membership would fail here, though never on a real database.
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    executor = MigrationExecutor(connection)
    executor.migrate(targets or executor.loader.graph.leaf_nodes())


def _legacy_table_create(rows) -> None:
    """DRF authtoken's table as its migrations left it, with committed-looking rows."""
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TABLE authtoken_token (key varchar(40) PRIMARY KEY, "
            "created timestamptz NOT NULL, "
            "user_id bigint NOT NULL UNIQUE REFERENCES accounts_user (id))"
        )
        cursor.executemany(
            "INSERT INTO authtoken_token (key, created, user_id) VALUES (%s, now(), %s)", rows
        )
        cursor.execute(
            "INSERT INTO django_migrations (app, name, applied) VALUES "
            "('authtoken', '0001_initial', now()), "
            "('authtoken', '0004_alter_tokenproxy_options', now())"
        )


def _organizations(api_client, key):
    return api_client.get("/api/v1/organizations/", HTTP_AUTHORIZATION=f"Token {key}")


@pytest.mark.django_db
def test_clear_tokens_are_hashed_keep_working_and_the_clear_table_goes(api_client, owner_a):
    other = UserFactory()
    other_key = "0" * 40
    _migrate(BEFORE)
    _legacy_table_create([(LEGACY_KEY, owner_a.pk), (other_key, other.pk)])

    _migrate(None)

    assert _organizations(api_client, LEGACY_KEY).status_code == 200
    migrated = ApiToken.objects.get(user=owner_a)
    assert (migrated.prefix, migrated.name) == (LEGACY_KEY[:8], "Migrated token")
    assert ApiToken.objects.get(user=other).prefix == "00000000"
    with connection.cursor() as cursor:
        assert "authtoken_token" not in connection.introspection.table_names(cursor)
        cursor.execute("SELECT count(*) FROM django_migrations WHERE app = 'authtoken'")
        assert cursor.fetchone() == (0,)
        cursor.execute("SELECT row_to_json(t)::text FROM accounts_apitoken t")
        assert not any(LEGACY_KEY in row for (row,) in cursor.fetchall())


@pytest.mark.django_db
def test_a_database_without_drf_tokens_migrates(owner_a):
    _migrate(BEFORE)
    _migrate(None)
    assert not ApiToken.objects.exists()
