"""The admin behind a second factor: a staff password alone never opens it (T2)."""

import time

import pytest
from django.test import Client
from django_otp.oath import TOTP
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

ADMIN = "/admin/"
SECOND_FACTOR = "/second-factor/"
ENROL = "/second-factor/enrol/"


def _current_code(device: TOTPDevice) -> str:
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time()
    return f"{totp.token():0{device.digits}d}"


def _password_login(client, user) -> None:
    """Signs in through the admin's own login form, as a person would."""
    response = client.post(
        "/admin/login/", {"username": user.username, "password": PASSWORD, "next": ADMIN}
    )
    assert response.status_code == 302


def _opens_admin(client) -> bool:
    return client.get(ADMIN).status_code == 200


@pytest.fixture
def staff():
    return UserFactory(is_staff=True, is_superuser=True)


@pytest.fixture
def enrolled(staff):
    """The staff user with a confirmed authenticator and one backup code."""
    device = TOTPDevice.objects.create(user=staff, name="phone", confirmed=True)
    backup = staff.staticdevice_set.create(name="backup", confirmed=True)
    StaticToken.objects.create(device=backup, token="backup01")
    return device


def test_a_password_alone_sends_staff_to_enrol_a_second_factor(client, staff):
    _password_login(client, staff)
    admin_page = client.get(ADMIN)
    assert admin_page.status_code == 302 and admin_page.url.startswith("/admin/login/")
    to_second_factor = client.get(admin_page.url)
    assert to_second_factor.url.startswith(SECOND_FACTOR)
    assert client.get(to_second_factor.url).url.startswith(ENROL)
    assert not _opens_admin(client)


def test_enrolment_shows_the_key_once_then_backup_codes_and_opens_the_admin(client, staff):
    _password_login(client, staff)
    first = client.get(ENROL)
    assert first.status_code == 200 and "data:image/svg+xml;base64," in first.content.decode()
    replaced = TOTPDevice.objects.get(user=staff)
    client.get(ENROL)
    pending = TOTPDevice.objects.get(user=staff)
    assert pending.pk != replaced.pk and not pending.confirmed
    assert pending.key != replaced.key

    wrong = client.post(ENROL, {"code": "000000" if _current_code(pending) != "000000" else "1"})
    assert "That code is not right" in wrong.content.decode()
    assert TOTPDevice.objects.get(user=staff).pk == pending.pk

    confirmed = client.post(ENROL, {"code": _current_code(pending), "next": ADMIN})
    assert confirmed.status_code == 200
    codes = list(StaticToken.objects.filter(device__user=staff).values_list("token", flat=True))
    assert len(codes) == 10
    assert all(code in confirmed.content.decode() for code in codes)
    assert TOTPDevice.objects.get(user=staff).confirmed
    assert _opens_admin(client)


def test_a_valid_code_opens_the_admin(client, staff, enrolled):
    _password_login(client, staff)
    assert not _opens_admin(client)
    response = client.post(SECOND_FACTOR, {"code": _current_code(enrolled), "next": ADMIN})
    assert response.status_code == 302 and response.url == ADMIN
    assert _opens_admin(client)


def test_a_wrong_code_is_refused(client, staff, enrolled):
    _password_login(client, staff)
    wrong = "000000" if _current_code(enrolled) != "000000" else "111111"
    response = client.post(SECOND_FACTOR, {"code": wrong, "next": ADMIN})
    assert response.status_code == 200
    assert "That code is not right" in response.content.decode()
    assert not _opens_admin(client)


def test_a_backup_code_works_once(staff, enrolled):
    first, second = Client(), Client()
    _password_login(first, staff)
    assert first.post(SECOND_FACTOR, {"code": "backup01"}).status_code == 302
    assert _opens_admin(first)

    _password_login(second, staff)
    again = second.post(SECOND_FACTOR, {"code": "backup01"})
    assert again.status_code == 200 and "already used" in again.content.decode()
    assert not _opens_admin(second)


def test_a_code_is_not_taken_from_another_site(client, staff, enrolled):
    """The next page after the code stays on this site."""
    _password_login(client, staff)
    response = client.post(
        SECOND_FACTOR, {"code": _current_code(enrolled), "next": "https://evil.example/"}
    )
    assert response.url == ADMIN


def test_tenant_users_have_no_second_factor_pages(client, owner_a):
    client.force_login(owner_a)
    assert client.get(SECOND_FACTOR).status_code == 403
    assert client.get(ENROL).status_code == 403
    assert not _opens_admin(client)
