"""S2: field-encryption key rotation under traffic, with kills.

10,000 organizations' FIRS keys are stored under K1. Every process is then deployed with
``FIELD_ENCRYPTION_KEYS=K2,K1`` and traffic processes read and re-save them without pause while
``manage.py rotate_encryption_keys`` re-encrypts in batches of 500; the rotation is SIGKILLed 3
times mid-batch and the traffic processes are SIGKILLed and restarted, then the rotation is run
to the end. Afterwards every token decrypts with K2 alone, K1 is dropped and the traffic restarts
on K2 only. Recorded: secrets no configured key could read (``InvalidToken``) during and after
(0), reads that returned a wrong value (0), plaintext unchanged (hash), rows/s.
"""

import hashlib
import json
import os
import signal
import subprocess
import time
import uuid
from pathlib import Path

import psutil
import pytest
from cryptography.fernet import Fernet, InvalidToken
from django.db import connection

from accounts.models import Organization
from invoices import services as invoice_services
from invoices.models import Invoice
from tests.invoices.pipeline_support import (
    SANDBOX_KEY,
    SANDBOX_SECRET,
    pos_sale,
    sandbox_organization,
)

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

ROWS = 10_000
BATCH = 500
TRAFFIC_PROCESSES = 3

# A traffic process: reads 50 random organizations' secrets and re-saves 5 of them (the same
# values, so encrypted afresh under the newest key), printing its running counts as JSON lines
# until the stop file appears.
TRAFFIC = """
import json, random, sys, time
from pathlib import Path
import django
django.setup()
from accounts.models import Organization
from taxpoynt.lib.fields import UnreadableSecret
stop, seconds = Path(sys.argv[1]), float(sys.argv[2])
ids = list(Organization.objects.values_list("pk", flat=True))
counts = {"reads": 0, "writes": 0, "invalid_token": 0, "wrong_value": 0}
started = time.monotonic()
while not stop.exists() and time.monotonic() - started < seconds:
    picked = random.sample(ids, 50)
    rows = list(Organization.objects.filter(pk__in=picked))
    for row in rows:
        counts["reads"] += 2
        expected = {"key": row.firs_api_key, "secret": row.firs_api_secret}
        for prefix, value in expected.items():
            if isinstance(value, UnreadableSecret):
                counts["invalid_token"] += 1
            elif value != f"{prefix}-{row.tin}":
                counts["wrong_value"] += 1
    for row in rows[:5]:
        if not isinstance(row.firs_api_key, UnreadableSecret):
            row.save(update_fields=["firs_api_key", "firs_api_secret"])
            counts["writes"] += 1
    print(json.dumps(counts), flush=True)
"""


def _seed():
    Organization.objects.bulk_create(
        (
            Organization(
                legal_name=f"Rotation {i}",
                tin=f"{30000000 + i:08d}-0001",
                contact_email=f"r{i}@x.example",
                firs_api_key=f"key-{30000000 + i:08d}-0001",
                firs_api_secret=f"secret-{30000000 + i:08d}-0001",
            )
            for i in range(ROWS)
        ),
        batch_size=1000,
    )


def _plaintext_digest() -> str:
    values = Organization.objects.order_by("pk").values_list("firs_api_key", "firs_api_secret")
    return hashlib.sha256(repr(list(values)).encode()).hexdigest()


def _tokens() -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT firs_api_key, firs_api_secret FROM accounts_organization")
        return cursor.fetchall()


class Traffic:
    """The traffic processes; their counts survive their kills (each prints as it goes)."""

    def __init__(self, *, python_bin, env, stop: Path, log_dir: Path):
        self.python_bin, self.env, self.stop, self.log_dir = python_bin, env, stop, log_dir
        self.running: list[tuple[subprocess.Popen, Path]] = []
        self.finished: list[Path] = []
        self.kills = 0

    def start(self, count: int = TRAFFIC_PROCESSES, *, seconds: float = 600):
        for _ in range(count):
            log = self.log_dir / f"traffic-{len(self.running) + len(self.finished)}.log"
            process = subprocess.Popen(
                [self.python_bin, "-c", TRAFFIC, str(self.stop), str(seconds)],
                env=self.env,
                stdout=log.open("w"),
                stderr=subprocess.STDOUT,
            )
            self.running.append((process, log))

    def kill_one(self):
        process, log = self.running.pop(0)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
        self.finished.append(log)
        self.kills += 1

    def stop_all(self):
        self.stop.touch()
        for process, log in self.running:
            process.wait(timeout=60)
            assert process.returncode == 0, log.read_text()[-2000:]
            self.finished.append(log)
        self.running = []
        self.stop.unlink()

    def counts(self) -> dict:
        total = {"reads": 0, "writes": 0, "invalid_token": 0, "wrong_value": 0}
        for log in self.finished:
            lines = [line for line in log.read_text().splitlines() if line.startswith("{")]
            for key, value in (json.loads(lines[-1]) if lines else {}).items():
                total[key] += value
        return total


def _readable(fernet: Fernet, token: str) -> bool:
    try:
        fernet.decrypt(token.encode())
    except InvalidToken:
        return False
    return True


def _rotate_until_killed(command, env, *, batches_before_kill: int) -> None:
    child = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, text=True)
    seen = 0
    for line in child.stdout:
        seen += "up to id" in line
        if seen >= batches_before_kill:
            child.send_signal(signal.SIGKILL)
            break
    child.wait(timeout=60)
    child.stdout.close()
    assert child.returncode == -signal.SIGKILL, "the rotation ended before it could be killed"


def test_rotation_under_traffic_with_kills_loses_no_secret(
    settings, process_env, python_bin, tmp_path
):
    k1, k2 = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEYS = (k1,)
    _seed()
    before = _plaintext_digest()
    both = process_env(FIELD_ENCRYPTION_KEYS=f"{k2},{k1}")
    traffic = Traffic(python_bin=python_bin, env=both, stop=tmp_path / "stop", log_dir=tmp_path)
    command = [python_bin, "manage.py", "rotate_encryption_keys", "--batch-size", str(BATCH)]

    traffic.start()
    time.sleep(2)
    started = time.monotonic()
    for batches_before_kill in (3, 9, 15):
        _rotate_until_killed(command, both, batches_before_kill=batches_before_kill)
        traffic.kill_one()
        traffic.start(1)
    finished = subprocess.run(command, env=both, capture_output=True, text=True, timeout=300)
    rotation_seconds = time.monotonic() - started
    assert finished.returncode == 0, finished.stderr
    traffic.stop_all()
    during = traffic.counts()

    readable_by_k2 = sum(_readable(Fernet(k2), token) for pair in _tokens() for token in pair)
    settings.FIELD_ENCRYPTION_KEYS = (k2,)
    after_digest = _plaintext_digest()

    # K1 dropped: every process restarted on K2 alone.
    only_k2 = process_env(FIELD_ENCRYPTION_KEYS=k2)
    after = Traffic(python_bin=python_bin, env=only_k2, stop=tmp_path / "stop", log_dir=tmp_path)
    after.start(seconds=3)
    for process, _log in after.running:
        process.wait(timeout=60)
    after.finished, after.running = [log for _, log in after.running], []
    after_counts = after.counts()

    tokens = 2 * ROWS
    print(
        f"\nS2 rotation InvalidToken {during['invalid_token']} during "
        f"({during['reads']} reads, {during['writes']} writes by traffic killed "
        f"{traffic.kills} times; rotation killed 3 times) and {after_counts['invalid_token']} "
        f"after K1 was dropped ({after_counts['reads']} reads); wrong values "
        f"{during['wrong_value'] + after_counts['wrong_value']}; {readable_by_k2} of {tokens} "
        f"tokens under K2 alone; plaintext {'unchanged' if after_digest == before else 'CHANGED'}; "
        f"{tokens / rotation_seconds:.0f} tokens/s ({rotation_seconds:.1f} s with the kills); "
        f"last run: {finished.stdout.strip().splitlines()[-1]}"
    )
    assert during["reads"] > 0 and during["writes"] > 0 and after_counts["reads"] > 0
    assert during["invalid_token"] == after_counts["invalid_token"] == 0
    assert during["wrong_value"] == after_counts["wrong_value"] == 0
    assert readable_by_k2 == tokens
    assert after_digest == before
    assert "'unreadable': 0" in finished.stdout


# Quick retries so a run fits in a test; the pause after signing keeps invoices in flight while
# the rotation runs.
INVOICE_TRAFFIC = {
    "INVOICE_RETRY_BASE_SECONDS": "0.2",
    "INVOICE_RETRY_MAX_SECONDS": "2",
    "INVOICE_CLAIM_SECONDS": "15",
    "INVOICE_SWEEP_IDLE_SECONDS": "5",
    "INVOICE_FAULT_PAUSES": '{"after_sign": 0.5}',
}
INVOICES = 40
STALL_SECONDS = 120


def _kill_a_worker_child(worker, *, wait_seconds: float = 15) -> int:
    """SIGKILL one of the worker's pool children, once the pool is working (a child killed while
    the pool starts stops the worker); 1 if done."""
    deadline = time.monotonic() + wait_seconds
    while time.monotonic() < deadline:
        working = Invoice.objects.exclude(stage=Invoice.Stage.BUILT).exists()
        children = psutil.Process(worker.pid).children() if working else []
        if children:
            os.kill(children[0].pid, signal.SIGKILL)
            return 1
        time.sleep(0.2)
    return 0


def test_invoices_signed_by_killed_workers_during_rotation_all_read_their_keys(
    settings, live_server, start_worker, clean_queues, process_env, python_bin
):
    """The same rotation with real work: a Celery worker (prefork, children SIGKILLed) signs
    invoices through the FIRS sandbox with the organization's encrypted FIRS key and secret
    while they are re-encrypted; an unreadable key would fail the invoice."""
    k1, k2 = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEYS = (k1,)
    _seed()
    tenant = sandbox_organization(base_url=f"{live_server.url}/sandbox/firs")
    settings.FIELD_ENCRYPTION_KEYS = (k2, k1)
    both = {"FIELD_ENCRYPTION_KEYS": f"{k2},{k1}"}
    for number in range(1, INVOICES + 1):
        invoice_services.invoice_create_for_source(
            organization=tenant,
            source_type=Invoice.Source.POS,
            source_id=uuid.UUID(int=number),
            source=pos_sale(number),
        )
    worker = start_worker(
        "realtime", pool="prefork", concurrency=2, env={**INVOICE_TRAFFIC, **both}
    )
    command = [python_bin, "manage.py", "rotate_encryption_keys", "--batch-size", str(BATCH)]
    env = process_env(**both)
    settings.INVOICE_SWEEP_IDLE_SECONDS = int(INVOICE_TRAFFIC["INVOICE_SWEEP_IDLE_SECONDS"])

    child_kills = 0
    for batches_before_kill in (3, 9, 15):
        _rotate_until_killed(command, env, batches_before_kill=batches_before_kill)
        child_kills += _kill_a_worker_child(worker)
    finished = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert finished.returncode == 0, finished.stderr
    during_rotation = Invoice.objects.filter(status=Invoice.Status.CONFIRMED).count()

    final = (Invoice.Status.CONFIRMED, Invoice.Status.NEEDS_ATTENTION)
    progress, progress_at, next_sweep = None, time.monotonic(), time.monotonic() + 5
    while Invoice.objects.filter(status__in=final).count() < INVOICES:
        seen = Invoice.objects.filter(status__in=final).count()
        if seen != progress:
            progress, progress_at = seen, time.monotonic()
        assert time.monotonic() - progress_at < STALL_SECONDS, f"stalled at {seen} final"
        if time.monotonic() > next_sweep:
            invoice_services.invoices_sweep()
            next_sweep = time.monotonic() + 5
        time.sleep(0.5)
    confirmed = Invoice.objects.filter(status=Invoice.Status.CONFIRMED).count()
    errors = list(
        Invoice.objects.exclude(status=Invoice.Status.CONFIRMED).values_list("problems", flat=True)
    )
    settings.FIELD_ENCRYPTION_KEYS = (k2,)
    tenant.refresh_from_db()
    print(
        f"\nS2 invoices: {confirmed} of {INVOICES} confirmed ({during_rotation} while the "
        f"rotation ran), the FIRS key read by a worker whose children were SIGKILLed "
        f"{child_kills} times; the tenant's key readable by K2 alone: "
        f"{tenant.firs_api_key == SANDBOX_KEY}"
    )
    assert errors == []
    assert confirmed == INVOICES
    assert tenant.firs_api_key == SANDBOX_KEY and tenant.firs_api_secret == SANDBOX_SECRET
