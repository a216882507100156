"""What the shared pipeline tests use: a second database session, as another worker has."""

import psycopg
from django.db import connection as db


def session_params() -> dict:
    params = db.get_connection_params()
    return {
        key: params[key]
        for key in ("dbname", "user", "password", "host", "port")
        if params.get(key)
    }


def row_locked_elsewhere(*, table: str, pk) -> bool:
    """Whether another session holds the row's lock: this one, asking without waiting, is
    refused."""
    with psycopg.connect(**session_params(), autocommit=True) as other:
        try:
            other.execute(f"SELECT 1 FROM {table} WHERE id = %s FOR UPDATE NOWAIT", [pk])
        except psycopg.errors.LockNotAvailable:
            return True
    return False
