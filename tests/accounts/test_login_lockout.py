"""Login brute force on the tenant sign-in and the admin login (S7): 5 failures per username and
address, 30 per username from anywhere, a cool-off, and no way to tell which usernames exist."""

import re
from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.contrib.auth.hashers import MD5PasswordHasher

from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

LOGINS = ["/login/", "/admin/login/"]
WRONG = "not the password"
# Each page masks the CSRF token afresh: in the form, and in the htmx headers of the layout.
CSRF_TOKEN = re.compile(r'(name="csrfmiddlewaretoken" value="|"X-CSRFToken": ")[^"]+"')


@pytest.fixture
def known():
    return UserFactory(username="known-user", is_staff=True)


def _attempt(client, url, username, password, ip="203.0.113.7"):
    return client.post(url, {"username": username, "password": password}, REMOTE_ADDR=ip)


def _signed_in(client) -> bool:
    return "_auth_user_id" in client.session


@pytest.mark.parametrize("url", LOGINS)
def test_five_failures_from_one_address_refuse_the_right_password(client, known, url):
    for _ in range(4):
        assert _attempt(client, url, known.username, WRONG).status_code == 200
    assert _attempt(client, url, known.username, WRONG).status_code == 429
    refused = _attempt(client, url, known.username, PASSWORD)
    assert refused.status_code == 429 and not _signed_in(client)
    # Another address is not held back by this one's failures.
    assert _attempt(client, url, known.username, PASSWORD, ip="198.51.100.1").status_code == 302


@pytest.mark.parametrize("url", LOGINS)
def test_four_failures_then_the_right_password_signs_in(client, known, url):
    for _ in range(4):
        _attempt(client, url, known.username, WRONG)
    assert _attempt(client, url, known.username, PASSWORD).status_code == 302
    assert _signed_in(client)


@pytest.mark.parametrize("url", LOGINS)
def test_thirty_failures_over_many_addresses_lock_the_account_everywhere(client, known, url):
    for n in range(29):
        _attempt(client, url, known.username, WRONG, ip=f"192.0.2.{n + 1}")
    # 29 failures, none 5 from one address: not locked yet.
    assert _attempt(client, url, known.username, PASSWORD, ip="192.0.2.200").status_code == 302
    client.logout()
    AccessAttempt.objects.all().delete()

    for n in range(30):
        _attempt(client, url, known.username, WRONG, ip=f"192.0.2.{n + 1}")
    refused = _attempt(client, url, known.username, PASSWORD, ip="192.0.2.201")
    assert refused.status_code == 429 and not _signed_in(client)


@pytest.mark.parametrize("url", LOGINS)
def test_the_right_password_works_again_after_the_cool_off(client, known, url, settings):
    for n in range(30):
        _attempt(client, url, known.username, WRONG, ip=f"192.0.2.{n % 6 + 1}")
    assert _attempt(client, url, known.username, PASSWORD).status_code == 429
    ended = timedelta(minutes=1) + settings.AXES_COOLOFF_TIME
    for attempt in AccessAttempt.objects.all():
        AccessAttempt.objects.filter(pk=attempt.pk).update(
            attempt_time=attempt.attempt_time - ended
        )
    assert _attempt(client, url, known.username, PASSWORD).status_code == 302
    assert _signed_in(client)


def _anonymised(response, username: str) -> bytes:
    html = CSRF_TOKEN.sub(r'\1"', response.content.decode())
    return html.replace(username, "USERNAME").encode()


@pytest.mark.parametrize("url", LOGINS)
def test_unknown_and_known_usernames_get_the_same_answers(client, known, url):
    unknown = "nobody-here"
    for attempt in range(7):  # wrong passwords, then locked out
        for_known = _attempt(client, url, known.username, WRONG)
        for_unknown = _attempt(client, url, unknown, WRONG)
        assert for_known.status_code == for_unknown.status_code, attempt
        assert _anonymised(for_known, known.username) == _anonymised(for_unknown, unknown)
        assert sorted(for_known.headers) == sorted(for_unknown.headers)


@pytest.mark.parametrize("url", LOGINS)
def test_an_unknown_username_costs_a_password_hash_like_a_known_one(
    client, known, url, monkeypatch
):
    """The answer takes as long whether or not the account exists: both run the hasher once."""
    hashed = []
    real_encode = MD5PasswordHasher.encode

    def counting_encode(self, password, salt):
        hashed.append(password)
        return real_encode(self, password, salt)

    monkeypatch.setattr(MD5PasswordHasher, "encode", counting_encode)
    _attempt(client, url, known.username, WRONG)
    for_known = len(hashed)
    _attempt(client, url, "nobody-here", WRONG)
    assert for_known == len(hashed) - for_known == 1
