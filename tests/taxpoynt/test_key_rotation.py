"""Scenario S2: rotation under the newest key, resumable after SIGKILL."""

import hashlib
import signal
import subprocess

import pytest
from cryptography.fernet import Fernet
from django.db import connection

from accounts.models import Organization
from taxpoynt.ops.services import encryption_keys_rotate

ROWS = 3000


def _tokens():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id, firs_api_key, firs_api_secret FROM accounts_organization ORDER BY id"
        )
        return cursor.fetchall()


def _seed(count):
    Organization.objects.bulk_create(
        Organization(
            legal_name=f"Org {i}",
            tin=f"{20000000 + i:08d}-0001",
            contact_email=f"o{i}@x.example",
            firs_api_key=f"key-{i}",
            firs_api_secret=f"secret-{i}",
        )
        for i in range(count)
    )


def _plaintext_digest():
    values = Organization.objects.order_by("id").values_list("firs_api_key", "firs_api_secret")
    return hashlib.sha256(repr(list(values)).encode()).hexdigest()


@pytest.mark.django_db
def test_rotation_reencrypts_everything_under_newest_key(settings):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEYS = (old,)
    _seed(120)
    before = _plaintext_digest()
    settings.FIELD_ENCRYPTION_KEYS = (new, old)
    totals = encryption_keys_rotate(batch_size=50)
    assert totals == {"rotated": 240, "already_current": 0, "unreadable": 0}
    settings.FIELD_ENCRYPTION_KEYS = (new,)
    assert _plaintext_digest() == before
    assert encryption_keys_rotate(batch_size=50)["already_current"] == 240


@pytest.mark.django_db
def test_rotation_counts_and_keeps_unreadable_tokens(settings):
    lost, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEYS = (lost,)
    _seed(3)
    tokens = _tokens()
    settings.FIELD_ENCRYPTION_KEYS = (new,)
    assert encryption_keys_rotate()["unreadable"] == 6
    assert _tokens() == tokens


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_sigkill_mid_rotation_then_rerun_loses_nothing(settings, process_env, python_bin):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEYS = (old,)
    _seed(ROWS)
    before = _plaintext_digest()
    env = process_env(FIELD_ENCRYPTION_KEYS=f"{new},{old}")
    command = [python_bin, "manage.py", "rotate_encryption_keys", "--batch-size", "100"]

    kills = 0
    for progress_lines_before_kill in (2, 9, 25):
        child = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, text=True)
        seen = 0
        for line in child.stdout:
            seen += "up to id" in line
            if seen >= progress_lines_before_kill:
                child.send_signal(signal.SIGKILL)
                kills += 1
                break
        child.wait(timeout=60)
        child.stdout.close()
    assert kills == 3

    # Reads with both keys work at any point during the rotation.
    settings.FIELD_ENCRYPTION_KEYS = (new, old)
    assert _plaintext_digest() == before

    finished = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert finished.returncode == 0, finished.stderr
    assert "'unreadable': 0" in finished.stdout

    newest_only = Fernet(new)
    for _, key_token, secret_token in _tokens():
        newest_only.decrypt(key_token.encode())
        newest_only.decrypt(secret_token.encode())
    settings.FIELD_ENCRYPTION_KEYS = (new,)
    assert _plaintext_digest() == before
