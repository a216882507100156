"""Boot refusal on bad keys (S3) and production settings passing `check --deploy` (S6)."""

import secrets
import subprocess

import pytest
from cryptography.fernet import Fernet

BOOT = ["-c", "import django; django.setup(); print('booted')"]


@pytest.mark.parametrize(
    ("keys", "message"),
    [("", "FIELD_ENCRYPTION_KEYS is not set"), ("not-a-fernet-key", "not a valid Fernet key")],
)
def test_boot_is_refused_with_missing_or_malformed_key(process_env, python_bin, keys, message):
    result = subprocess.run(
        [python_bin, *BOOT],
        env=process_env(FIELD_ENCRYPTION_KEYS=keys),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "booted" not in result.stdout
    assert message in result.stderr


def test_boot_succeeds_with_valid_keys(process_env, python_bin):
    result = subprocess.run(
        [python_bin, *BOOT],
        env=process_env(FIELD_ENCRYPTION_KEYS=Fernet.generate_key().decode()),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "booted" in result.stdout


def test_production_settings_pass_check_deploy(process_env, python_bin):
    env = process_env(
        DJANGO_SETTINGS_MODULE="taxpoynt.settings.production",
        SECRET_KEY=secrets.token_urlsafe(64),
        FIELD_ENCRYPTION_KEYS=Fernet.generate_key().decode(),
        ALLOWED_HOSTS="invoices.taxpoynt.example",
        DEBUG="false",
    )
    result = subprocess.run(
        [python_bin, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout
