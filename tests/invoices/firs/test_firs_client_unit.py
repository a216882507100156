"""FirsClient reply classification, Retry-After parsing and the shared breaker, without a server
(``responses`` stubs the HTTP layer)."""

import json
import time
import uuid
from decimal import Decimal
from email.utils import formatdate

import pytest
import responses
from django.core.cache import cache

from invoices.firs.client import FirsClient, SharedCircuitBreaker, retry_after_seconds
from invoices.firs.errors import (
    DuplicateIrn,
    FirsAuthenticationError,
    FirsCircuitOpen,
    FirsNotFound,
    FirsPermanentError,
    FirsTransientError,
)

BASE = "https://firs.test"
IRN = "INV001-94ND90NR-20240611"
CONFIRM = f"{BASE}/api/v1/invoice/confirm/{IRN}"
BOILERPLATE = (
    "validation failed: we are unable to process your request. "
    "also confirm this is not a duplicate request"
)


def mbs_error(details="", *, code=400, public_message=BOILERPLATE, **extra):
    error = {"id": str(uuid.uuid4()), "handler": "invoice_actions", "details": details}
    error.update(public_message=public_message, **extra)
    return {"code": code, "data": None, "message": "error has occurred", "error": error}


@pytest.fixture
def firs():
    client = FirsClient(BASE, "key", "secret", timeout=2)
    client.breaker.reset()
    yield client
    client.breaker.reset()


@pytest.mark.parametrize(
    ("value", "expected"),
    [("120", 120), ("1.5", 1.5), ("-3", 0), (None, None), ("", None), ("soon", None)],
)
def test_retry_after_in_seconds(value, expected):
    assert retry_after_seconds(value) == expected


def test_retry_after_as_an_http_date():
    assert 43 <= retry_after_seconds(formatdate(time.time() + 45, usegmt=True)) <= 45
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT") == 0


@pytest.mark.parametrize(
    ("status", "body", "error_class"),
    [
        (409, mbs_error("conflict"), DuplicateIrn),
        (400, mbs_error("duplicate irn: invoice already exists"), DuplicateIrn),
        (
            400,
            mbs_error(
                "unable to complete this operation at this time, kindly try again later",
                errors=[{"field": "invoice.irn", "message": "already exists"}],
            ),
            DuplicateIrn,
        ),
        (400, mbs_error("unable to complete this operation at this time"), FirsTransientError),
        (400, mbs_error("", public_message="service temporarily unavailable"), FirsTransientError),
        (400, mbs_error("invalid UUID length: 13"), FirsPermanentError),
        (422, mbs_error("invoicerequest.invoice.irn is required"), FirsPermanentError),
        (400, mbs_error(public_message="unable to validate api key"), FirsAuthenticationError),
        (401, {"message": "unauthorized"}, FirsAuthenticationError),
        (404, {"code": 404, "data": None, "message": "no route found"}, FirsNotFound),
        (400, mbs_error("invoice with irn X not found"), FirsNotFound),
        (502, "<html>Bad Gateway</html>", FirsTransientError),
        (200, mbs_error("invoice not found", code=404), FirsNotFound),
        (200, "<html>maintenance</html>", FirsTransientError),
    ],
)
@responses.activate
def test_replies_are_classified(firs, status, body, error_class):
    kwargs = {"json": body} if isinstance(body, dict) else {"body": body}
    responses.get(CONFIRM, status=status, **kwargs)
    with pytest.raises(error_class) as caught:
        firs.confirm(irn=IRN)
    assert type(caught.value) is error_class
    assert caught.value.operation == "confirm"


@responses.activate
def test_a_duplicate_names_its_irn_and_keeps_the_envelope(firs):
    responses.post(f"{BASE}/api/v1/invoice/sign", status=409, json=mbs_error("already exists"))
    with pytest.raises(DuplicateIrn) as caught:
        firs.sign(invoice={"irn": IRN})
    assert caught.value.irn == IRN
    assert caught.value.envelope["error"]["details"] == "already exists"


@responses.activate
def test_requests_carry_keys_and_decimals_go_out_as_numbers(firs):
    responses.post(f"{BASE}/api/v1/invoice/validate", status=201, json={"code": 201, "data": {}})
    responses.get(f"{BASE}/api/v1/invoice/resources/currencies", json={"code": 200, "data": []})
    firs.validate(invoice={"irn": IRN, "legal_monetary_total": {"payable_amount": Decimal("7.50")}})
    firs.resources(name="currencies")
    signed, listed = responses.calls
    assert json.loads(signed.request.body)["legal_monetary_total"]["payable_amount"] == 7.5
    assert signed.request.headers["x-api-key"] == "key"
    assert signed.request.headers["x-api-secret"] == "secret"
    # The code lists take no credentials, so none are sent.
    assert "x-api-secret" not in listed.request.headers


def test_arguments_are_checked_before_any_call(firs):
    with pytest.raises(ValueError, match="payment_status"):
        firs.update_payment_status(irn=IRN, payment_status="SETTLED")
    with pytest.raises(ValueError, match="Unknown FIRS resource"):
        firs.resources(name="../entity")


@responses.activate
def test_rate_limits_and_rejections_do_not_trip_the_breaker(firs):
    responses.get(CONFIRM, status=429, headers={"Retry-After": "2"}, json={"code": 429})
    for _ in range(6):
        with pytest.raises(FirsTransientError):
            firs.confirm(irn=IRN)
    assert firs.breaker.state == "closed"


def breaker(**options) -> SharedCircuitBreaker:
    return SharedCircuitBreaker(name=f"test-{uuid.uuid4()}", **options)


def test_breaker_opens_at_fail_max_and_lets_one_probe_through():
    circuit = breaker(fail_max=3, reset_timeout=0.2)
    for _ in range(3):
        assert circuit.before_call() is False
        circuit.record_failure(probing=False)
    assert circuit.state == "open"
    with pytest.raises(FirsCircuitOpen) as caught:
        circuit.before_call()
    assert 0 < caught.value.retry_after <= 0.2

    time.sleep(0.25)
    assert circuit.state == "half-open"
    assert circuit.before_call() is True  # this caller probes
    with pytest.raises(FirsCircuitOpen):  # everyone else waits for its outcome
        circuit.before_call()
    circuit.record_success()
    assert circuit.state == "closed"
    assert circuit.before_call() is False


def test_a_failed_probe_reopens_the_breaker():
    circuit = breaker(fail_max=1, reset_timeout=0.1)
    circuit.record_failure(probing=False)
    time.sleep(0.15)
    assert circuit.before_call() is True
    circuit.record_failure(probing=True)
    assert circuit.state == "open"
    circuit.reset()


def test_a_success_ends_a_failure_streak():
    circuit = breaker(fail_max=3)
    circuit.record_failure(probing=False)
    circuit.record_failure(probing=False)
    circuit.record_success()
    circuit.record_failure(probing=False)
    circuit.record_failure(probing=False)
    assert circuit.state == "closed"
    circuit.reset()


def test_a_breaker_seen_closed_is_trusted_for_a_moment_then_read_again(settings, monkeypatch):
    settings.FIRS_BREAKER_CLEAN_MEMORY_SECONDS = 60
    circuit = breaker(fail_max=1, reset_timeout=60)
    assert circuit.before_call() is False  # read from the cache: closed, no streak
    reads = []
    monkeypatch.setattr(cache, "get_many", lambda keys: reads.append(keys) or {})
    assert circuit.before_call() is False
    assert reads == []  # the usual call costs no round trip
    monkeypatch.undo()

    # Another process opens it (its write never passes through this process's breaker).
    cache.set(circuit._open_until_key, time.time() + 60, timeout=None)
    assert circuit.before_call() is False  # not seen yet
    SharedCircuitBreaker._seen_clean_until[circuit.name] = time.monotonic() - 1
    with pytest.raises(FirsCircuitOpen):
        circuit.before_call()
    circuit.reset()


def test_this_processs_own_failure_is_seen_at_once(settings):
    settings.FIRS_BREAKER_CLEAN_MEMORY_SECONDS = 60
    circuit = breaker(fail_max=1, reset_timeout=60)
    assert circuit.before_call() is False
    circuit.record_failure(probing=False)
    with pytest.raises(FirsCircuitOpen):
        SharedCircuitBreaker(name=circuit.name).before_call()
    circuit.reset()


@responses.activate
def test_without_the_cache_the_breaker_lets_calls_through(firs, monkeypatch):
    def cache_down(*args, **kwargs):
        raise ConnectionError("redis is down")

    for method in ("get", "add", "delete_many", "incr", "set"):
        monkeypatch.setattr(cache, method, cache_down)
    responses.get(CONFIRM, json={"code": 200, "data": {"irn": IRN}})
    assert firs.confirm(irn=IRN).data == {"irn": IRN}
    responses.get(CONFIRM, status=503)
    with pytest.raises(FirsTransientError):
        firs.confirm(irn=IRN)
