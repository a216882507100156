"""`make run`: web (gunicorn), one Celery worker per queue, beat and the demo traffic, in one
terminal.

Prints the URL and the demo login and supervises the processes: one that exits (the demo traffic
on a database blip, say) is logged and started again with a back-off; only Ctrl-C or SIGTERM
stops them all.
"""

import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Run as a script, the project is not on sys.path yet.
sys.path.insert(0, str(ROOT))

from taxpoynt.lib.supervisor import supervise  # noqa: E402

BIN = Path(sys.executable).parent
PORT = os.environ.get("PORT", "8000")
# (queue, prefork processes): sized for a 2-core box; raise them on bigger machines.
WORKERS = (("realtime", 4), ("standard", 2), ("batch", 1))


# Live demo traffic: a sale every few seconds at the demo's sandbox Square seller.
DEMO_SALES_PER_MINUTE = 12


def commands(demo: dict) -> dict[str, list[str]]:
    celery = [str(BIN / "celery"), "-A", "taxpoynt"]
    procs = {
        "web": [
            str(BIN / "gunicorn"),
            "taxpoynt.wsgi:application",
            "--bind",
            f"127.0.0.1:{PORT}",
            "--workers",
            "3",
            "--access-logfile",
            "-",
        ],
        "beat": [*celery, "beat", "--loglevel", "INFO", "--scheduler", "django"],
    }
    for queue, concurrency in WORKERS:
        procs[f"worker-{queue}"] = [
            *celery,
            "worker",
            "--queues",
            queue,
            "--hostname",
            f"{queue}@%h",
            "--concurrency",
            str(concurrency),
            "--loglevel",
            "INFO",
        ]
    for connection in demo.get("connections", []):
        if connection["family"] == "pos" and connection["platform"] == "square":
            procs["demo-sales"] = [
                str(BIN / "python"),
                "manage.py",
                "square_sandbox_traffic",
                "--merchant-id",
                connection["account_id"],
                "--webhook-url",
                connection["webhook_url"],
                "--notification-url",
                connection["notification_url"],
                "--signature-key",
                connection["signing_secret"],
                "--count",
                "100000",
                # Deliveries per second: a sale sends about three events.
                "--rate",
                str(DEMO_SALES_PER_MINUTE * 3 / 60),
                "--refund-share",
                "0.05",
                "--api-order-share",
                "0",
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
