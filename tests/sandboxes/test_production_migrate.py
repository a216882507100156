"""A production database (sandboxes off) gets no sandbox table: ``migrate`` with the production
settings, on a database of its own made for the test on the same server."""

import subprocess
import uuid
from urllib.parse import quote

import pytest
from cryptography.fernet import Fernet
from django.db import connection

pytestmark = pytest.mark.slow

SANDBOX_TABLES = """
    SELECT table_name FROM information_schema.tables
    WHERE table_schema = 'public' AND table_name LIKE '%%sandbox%%'
"""
SANDBOX_MIGRATIONS = "SELECT DISTINCT app FROM django_migrations WHERE app LIKE '%%sandbox%%'"
SANDBOX_CONTENT_TYPES = """
    SELECT app_label, model FROM django_content_type
    WHERE app_label LIKE '%%sandbox%%' OR model LIKE '%%sandbox%%'
"""


@pytest.fixture
def empty_database(django_db_blocker):
    """A fresh database beside the test run's, dropped afterwards; its name."""
    name = f"tp_production_migrate_{uuid.uuid4().hex[:12]}"
    with django_db_blocker.unblock(), connection.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{name}"')
    yield name
    with django_db_blocker.unblock(), connection.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _rows(database_name: str, query: str) -> list[tuple]:
    import psycopg

    settings = connection.settings_dict
    with psycopg.connect(
        host=settings["HOST"],
        port=settings["PORT"] or 5432,
        user=settings["USER"],
        password=settings["PASSWORD"],
        dbname=database_name,
    ) as db:
        return db.execute(query).fetchall()


def test_production_migrate_creates_no_sandbox_table(empty_database, process_env, python_bin):
    settings = connection.settings_dict
    # A socket directory (the embedded server) cannot stand in a URL's host: that server is
    # found again from its data directory and only the database name is given.
    if settings["HOST"].startswith("/"):
        database = {"DATABASE_NAME": empty_database}
    else:
        credentials = quote(settings["USER"] or "", safe="")
        if settings["PASSWORD"]:
            credentials += ":" + quote(settings["PASSWORD"], safe="")
        address = f"{settings['HOST']}:{settings['PORT'] or 5432}"
        database = {"DATABASE_URL": f"postgres://{credentials}@{address}/{empty_database}"}
    env = process_env(
        DJANGO_SETTINGS_MODULE="taxpoynt.settings.production",
        SECRET_KEY="production-migrate-test-" + uuid.uuid4().hex,
        FIELD_ENCRYPTION_KEYS=Fernet.generate_key().decode(),
        ALLOWED_HOSTS="taxpoynt.example",
        REDIS_URL="redis://127.0.0.1:6379/15",
    )
    for name in ("SANDBOX_ENABLED", "DATABASE_NAME", "DATABASE_URL", "DEBUG"):
        env.pop(name, None)
    env.update(database)
    subprocess.run(
        [python_bin, "manage.py", "migrate", "--no-input"],
        env=env,
        check=True,
        capture_output=True,
        timeout=600,
    )

    assert _rows(empty_database, "SELECT count(*) FROM django_migrations")[0][0] > 0
    assert _rows(empty_database, SANDBOX_TABLES) == []
    assert _rows(empty_database, SANDBOX_MIGRATIONS) == []
    assert _rows(empty_database, SANDBOX_CONTENT_TYPES) == []


@pytest.mark.django_db
def test_the_test_database_with_sandboxes_on_has_their_tables():
    """The same queries find the sandboxes where they are installed."""
    with connection.cursor() as cursor:
        cursor.execute(SANDBOX_TABLES)
        tables = {row[0] for row in cursor.fetchall()}
        cursor.execute(SANDBOX_MIGRATIONS)
        apps = {row[0] for row in cursor.fetchall()}
    assert "sandbox_square_squaresandboxmerchant" in tables
    assert "sandbox_firs_firssandboxcredential" in tables
    assert {"sandbox_square", "sandbox_hubspot", "sandbox_firs"} <= apps
