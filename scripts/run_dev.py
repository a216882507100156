"""`make run`: web (gunicorn), Celery workers per queue, beat and the demo traffic, in one
terminal.

The layout is the one `make bench` measures: threads pools (the work waits on HTTP and
PostgreSQL, not the CPU), web and realtime processes per core, the batch worker at the lowest
CPU priority so back-fills yield to live sales. Every thread that touches the database keeps a
connection, so threads are trimmed to what PostgreSQL's max_connections leaves free.

Prints the URL and the demo login and supervises the processes: one that exits (the demo traffic
on a database blip, say) is logged and started again with a back-off; only Ctrl-C or SIGTERM
stops them all.
"""

import json
import os
import sys
from dataclasses import dataclass, replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Run as a script, the project is not on sys.path yet.
sys.path.insert(0, str(ROOT))

from taxpoynt.lib.supervisor import supervise  # noqa: E402

BIN = Path(sys.executable).parent
PORT = os.environ.get("PORT", "8000")

# Live demo traffic at every sandbox connection: a delivery every few seconds (a Square sale
# sends about three, so a sale every 5 s).
DEMO_DELIVERIES_PER_SECOND = 0.6

# Threads per process, as `make bench` runs them.
WEB_THREADS = 12
REALTIME_THREADS = 12
STANDARD_THREADS = 16
BATCH_THREADS = 2
MIN_THREADS = 2
# Connections beyond the pools': beat, the demo traffic, and room for manage.py commands or a
# psql while the stack runs.
OTHER_CONNECTIONS = 12


@dataclass(frozen=True)
class Pool:
    processes: int
    threads: int

    @property
    def connections(self) -> int:
        return self.processes * self.threads


def process_layout(*, cores: int, free_connections: int) -> dict[str, Pool]:
    """Processes and threads per role for ``cores`` CPUs, within ``free_connections``."""
    layout = {
        "web": Pool(cores, WEB_THREADS),
        "realtime": Pool(cores, REALTIME_THREADS),
        "standard": Pool(max(1, cores // 4), STANDARD_THREADS),
        "batch": Pool(1, BATCH_THREADS),
    }
    budget = free_connections - OTHER_CONNECTIONS
    demand = sum(pool.connections for pool in layout.values())
    if demand > budget:
        # Fewer threads first (each process keeps a core to use), then fewer processes.
        layout = {
            name: replace(pool, threads=max(MIN_THREADS, pool.threads * budget // demand))
            for name, pool in layout.items()
        }
        demand = sum(pool.connections for pool in layout.values())
    if demand > budget:
        layout = {
            name: replace(pool, processes=max(1, pool.processes * budget // demand))
            for name, pool in layout.items()
        }
    needed = sum(pool.connections for pool in layout.values()) + OTHER_CONNECTIONS
    if needed > free_connections:
        raise SystemExit(
            f"PostgreSQL has {free_connections} connections free; make run needs {needed}. "
            "Raise max_connections or put a pooler (PgBouncer) in front."
        )
    return layout


def free_connections() -> int:
    """Connections PostgreSQL still accepts from ordinary users (other clients count too)."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "taxpoynt.settings.development")
    import django

    django.setup()
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT current_setting('max_connections')::int"
            " - current_setting('superuser_reserved_connections')::int"
            " - (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend')"
        )
        (free,) = cursor.fetchone()
    connection.close()
    return free + 1  # this one, closed


def commands(demo: dict) -> dict[str, list[str]]:
    layout = process_layout(cores=os.cpu_count() or 1, free_connections=free_connections())
    print(
        "  layout: "
        + ", ".join(
            f"{name} {pool.processes} x {pool.threads} threads" for name, pool in layout.items()
        ),
        flush=True,
    )
    celery = [str(BIN / "celery"), "-A", "taxpoynt"]
    web = layout["web"]
    procs = {
        "web": [
            str(BIN / "gunicorn"),
            "taxpoynt.wsgi:application",
            "--bind",
            f"127.0.0.1:{PORT}",
            "--worker-class",
            "gthread",
            "--workers",
            str(web.processes),
            "--threads",
            str(web.threads),
            "--backlog",
            "2048",
            # Clients keep connections alive; gunicorn's 2 s default races their reuse.
            "--keep-alive",
            "75",
            "--access-logfile",
            "-",
        ],
        "beat": [*celery, "beat", "--loglevel", "INFO", "--scheduler", "django"],
    }
    for queue in ("realtime", "standard", "batch"):
        pool = layout[queue]
        # Workers run without DEBUG, as `make bench` runs them: DEBUG records every SQL
        # statement in memory, a cost per statement that held live sales back (the web keeps it
        # for the developer's error pages). The back-fill yields the CPU to live sales: its worker
        # runs at the lowest priority.
        prefix = ["env", "DEBUG=false", *(["nice", "-n", "19"] if queue == "batch" else [])]
        for number in range(pool.processes):
            name = f"worker-{queue}" if pool.processes == 1 else f"worker-{queue}-{number + 1}"
            procs[name] = [
                *prefix,
                *celery,
                "worker",
                "--queues",
                queue,
                "--hostname",
                f"{queue}-{number + 1}@%h",
                "--pool",
                "threads",
                "--concurrency",
                str(pool.threads),
                "--without-gossip",
                "--without-mingle",
                "--loglevel",
                "INFO",
            ]
    for connection in demo.get("connections", []):
        # The account, URLs and signing secret are read from var/demo.json, not put on the
        # command line (which every local user can read in ps).
        procs[f"demo-traffic-{connection['platform']}"] = [
            str(BIN / "python"),
            "manage.py",
            "sandbox_traffic",
            "--platform",
            connection["platform"],
            "--connection",
            connection["id"],
            "--demo-file",
            str(ROOT / "var" / "demo.json"),
            "--count",
            "1000000",
            "--rate",
            str(DEMO_DELIVERIES_PER_SECOND),
        ]
    return procs


def main() -> int:
    os.chdir(ROOT)
    demo = json.loads((ROOT / "var" / "demo.json").read_text())
    print(
        f"\n  TaxPoynt is starting at {demo['url']}/\n"
        f"  admin:  {demo['url']}/admin/  operator / {demo['operator']['password']}\n"
        f"  tenant: {demo['tenant']['username']} / {demo['tenant']['password']}"
        f"  (API token {demo['tenant']['api_token']})\n"
        f"  health: {demo['url']}/health/   API docs: {demo['url']}/api/docs/\n"
        "  A process that exits is started again; Ctrl-C stops everything.\n",
        flush=True,
    )
    return supervise(commands(demo))


if __name__ == "__main__":
    sys.exit(main())
