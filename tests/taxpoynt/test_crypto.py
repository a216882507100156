import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured
from django.db import connection

from accounts.models import Organization
from taxpoynt.lib.crypto import parse_encryption_keys
from taxpoynt.lib.fields import UnreadableSecret, mask_secret
from tests.factories import OrganizationFactory


@pytest.mark.parametrize(
    "raw", [None, "", "  ", "not-a-key", "abc,def", Fernet.generate_key().decode() + "x"]
)
def test_bad_key_lists_are_refused_with_a_clear_message(raw):
    with pytest.raises(ImproperlyConfigured, match="FIELD_ENCRYPTION_KEYS"):
        parse_encryption_keys(raw)


def test_duplicate_keys_are_refused():
    key = Fernet.generate_key().decode()
    with pytest.raises(ImproperlyConfigured, match="same key twice"):
        parse_encryption_keys(f"{key},{key}")


def test_key_list_keeps_order_newest_first():
    new, old = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    assert parse_encryption_keys(f" {new} , {old} ") == (new, old)


def _stored_token(organization):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT firs_api_secret FROM accounts_organization WHERE id = %s", [organization.pk]
        )
        return cursor.fetchone()[0]


@pytest.mark.django_db
def test_secret_is_encrypted_at_rest_and_read_back(settings):
    key = Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEYS = (key,)
    organization = OrganizationFactory(firs_api_secret="canary-secret-value-123")
    token = _stored_token(organization)
    assert "canary" not in token
    assert Fernet(key).decrypt(token.encode()).decode() == "canary-secret-value-123"
    assert Organization.objects.get(pk=organization.pk).firs_api_secret == "canary-secret-value-123"


@pytest.mark.django_db
def test_old_ciphertext_stays_readable_after_adding_a_key(settings):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEYS = (old,)
    organization = OrganizationFactory(firs_api_secret="written-under-old-key")
    settings.FIELD_ENCRYPTION_KEYS = (new, old)
    assert Organization.objects.get(pk=organization.pk).firs_api_secret == "written-under-old-key"


@pytest.mark.django_db
def test_unknown_key_gives_unreadable_secret_that_saves_back_unchanged(settings):
    settings.FIELD_ENCRYPTION_KEYS = (Fernet.generate_key().decode(),)
    organization = OrganizationFactory(firs_api_secret="lost-key-secret")
    token = _stored_token(organization)
    settings.FIELD_ENCRYPTION_KEYS = (Fernet.generate_key().decode(),)
    reloaded = Organization.objects.get(pk=organization.pk)
    assert isinstance(reloaded.firs_api_secret, UnreadableSecret)
    assert not reloaded.firs_api_secret
    assert "lost-key" not in repr(reloaded.firs_api_secret)
    reloaded.legal_name = "Renamed"
    reloaded.save()
    assert _stored_token(organization) == token


def test_mask_secret_shows_at_most_last_four():
    assert mask_secret("") == ""
    assert mask_secret("short") == "••••••••"
    assert mask_secret("sk_live_1234567890abcd").endswith("abcd")
    assert "sk_live" not in mask_secret("sk_live_1234567890abcd")
    assert mask_secret(UnreadableSecret("x")) == "unreadable: re-enter it"
