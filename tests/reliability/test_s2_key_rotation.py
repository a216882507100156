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
import signal
import subprocess
import time
from pathlib import Path

import pytest
from cryptography.fernet import Fernet, InvalidToken
from django.db import connection

from accounts.models import Organization

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
