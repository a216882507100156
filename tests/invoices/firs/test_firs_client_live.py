"""FirsClient against the FIRS sandbox over real HTTP (live server): the lifecycle, error classes,
faults F6/F7 and the shared circuit breaker (reliability F6, F7, R6, R7)."""

import logging
import socket
import time

import pytest
import urllib3.util.connection

from invoices.firs.client import FirsClient, SharedCircuitBreaker, firs_client_for
from invoices.firs.errors import (
    DuplicateIrn,
    FirsAuthenticationError,
    FirsCircuitOpen,
    FirsNotFound,
    FirsPermanentError,
    FirsRateLimited,
    FirsTransientError,
    FirsUnreachable,
)
from sandboxes.firs.models import FirsSandboxCredential, FirsSandboxInvoice
from sandboxes.firs.server import (
    sandbox_credential_create,
    sandbox_faults_reset,
    sandbox_faults_set,
)
from taxpoynt.lib.fields import UnreadableSecret
from tests.factories import OrganizationFactory
from tests.sandboxes.firs.conftest import API_KEY, API_SECRET, IRN

pytestmark = pytest.mark.django_db(transaction=True)


def stored(irn: str = IRN) -> FirsSandboxInvoice:
    return FirsSandboxInvoice.objects.get(irn=irn)


def test_validate_sign_transmit_confirm_and_pay(firs, invoice, sandbox_credential):
    payload = invoice()
    assert firs.health().data == {"healthy": True}
    checked = firs.validate_irn(
        business_id=payload["business_id"], invoice_reference="INV2026011401", irn=IRN
    )
    assert checked.data == {"ok": True}
    assert firs.validate(invoice=payload).status == 201
    signed = firs.sign(invoice=payload)
    assert (signed.status, signed.data, signed.body) == (201, {"ok": True}, signed.body)
    assert signed.body == {"code": 201, "data": {"ok": True}}
    assert firs.transmit(irn=IRN).data == {"ok": True}

    confirmed = firs.confirm(irn=IRN).data
    assert confirmed["irn"] == IRN
    assert confirmed["transmitted"] is True
    assert confirmed["delivered"] is True
    assert confirmed["payment_status"] == "PENDING"

    firs.update_payment_status(irn=IRN, payment_status="PAID", reference="GTB-0042")
    assert firs.confirm(irn=IRN).data["payment_status"] == "PAID"
    assert firs.download(irn=IRN).data["legal_monetary_total"] == payload["legal_monetary_total"]
    sandbox_credential.refresh_from_db()
    assert sandbox_credential.accepted_irns == 1
    assert firs.breaker.state == "closed"


def test_code_lists_need_no_keys(make_firs):
    keyless = make_firs("", "")
    currencies = keyless.resources(name="currencies").data
    assert {"NGN", "USD"} <= {row["code"] for row in currencies}


def test_bad_keys_are_a_permanent_authentication_error(make_firs, sandbox_credential, invoice):
    impostor = make_firs(API_KEY, "not-the-secret")
    with pytest.raises(FirsAuthenticationError) as caught:
        impostor.sign(invoice=invoice())
    error = caught.value
    assert error.permanent is True
    assert error.status == 400
    assert "unable to validate api key" in str(error)
    assert error.public_message == "unable to validate api key"
    assert error.error_id
    assert "not-the-secret" not in f"{error} {error!r} {error.envelope}"
    assert not FirsSandboxInvoice.objects.exists()


def test_a_second_sign_is_a_duplicate_resolved_by_confirm(firs, invoice, sandbox_credential):
    firs.sign(invoice=invoice())
    with pytest.raises(DuplicateIrn) as caught:
        firs.sign(invoice=invoice())
    assert caught.value.irn == IRN
    assert caught.value.permanent is True
    assert firs.confirm(irn=IRN).data["entry_status"] == "signed"
    with pytest.raises(DuplicateIrn):
        firs.validate_irn(
            business_id=invoice()["business_id"], invoice_reference="INV2026011401", irn=IRN
        )
    sandbox_credential.refresh_from_db()
    assert (sandbox_credential.accepted_irns, sandbox_credential.duplicate_submissions) == (1, 1)


def test_confirm_of_an_unsigned_irn_is_not_found(firs):
    with pytest.raises(FirsNotFound) as caught:
        firs.confirm(irn=IRN)
    assert caught.value.permanent is True


def test_a_rejected_invoice_is_permanent_despite_firs_boilerplate(firs, invoice):
    payload = invoice()
    del payload["accounting_supplier_party"]["email"]
    with pytest.raises(FirsPermanentError) as caught:
        firs.validate(invoice=payload)
    error = caught.value
    assert not isinstance(error, FirsTransientError)
    assert error.details == "invoicerequest.invoice.accountingsupplierparty.email is required"
    # The boilerplate says "we are unable to process your request", one of the busy phrases.
    assert "we are unable to process your request" in error.public_message
    assert error.details in str(error)


def test_service_unavailable_is_transient_with_retry_after(firs, invoice):
    sandbox_faults_set(server_error_rate=1, retry_after_seconds=4)
    with pytest.raises(FirsTransientError) as caught:
        firs.sign(invoice=invoice())
    error = caught.value
    assert (error.status, error.permanent, error.retry_after) == (503, False, 4)
    assert not FirsSandboxInvoice.objects.exists()


@pytest.mark.parametrize("as_http_date", [False, True], ids=["seconds", "http-date"])
def test_429_is_rate_limited_until_retry_after(firs, invoice, as_http_date):
    sandbox_faults_set(
        rate_limit_rate=1, retry_after_seconds=30, retry_after_as_http_date=as_http_date
    )
    with pytest.raises(FirsRateLimited) as caught:
        firs.sign(invoice=invoice())
    assert caught.value.status == 429
    # An HTTP date has whole seconds only.
    assert 28 <= caught.value.retry_after <= 30
    assert firs.breaker.state == "closed"


def test_firs_busy_400_is_transient(firs, invoice):
    sandbox_faults_set(platform_error_rate=1)
    with pytest.raises(FirsTransientError) as caught:
        firs.sign(invoice=invoice())
    assert caught.value.status == 400
    assert "try again later" in caught.value.details
    assert not isinstance(caught.value, DuplicateIrn)


def test_reply_lost_after_commit_then_resign_is_a_duplicate(firs, invoice, sandbox_credential):
    sandbox_faults_set(dropped_reply_rate=1, only_operations="sign")
    with pytest.raises(FirsTransientError) as caught:
        firs.sign(invoice=invoice())
    assert not isinstance(caught.value, FirsUnreachable)
    assert "may have processed" in str(caught.value)
    # FIRS kept it, and the client did not send it again on its own.
    assert stored().status == FirsSandboxInvoice.Status.SIGNED
    sandbox_credential.refresh_from_db()
    assert (sandbox_credential.dropped_replies, sandbox_credential.duplicate_submissions) == (1, 0)

    assert firs.confirm(irn=IRN).data["irn"] == IRN
    sandbox_faults_reset()
    with pytest.raises(DuplicateIrn):
        firs.sign(invoice=invoice())
    sandbox_credential.refresh_from_db()
    assert sandbox_credential.accepted_irns == 1
    assert FirsSandboxInvoice.objects.count() == 1


def test_gateway_timeout_after_commit_is_transient(firs, invoice):
    sandbox_faults_set(dropped_reply_rate=1, dropped_reply_as="gateway_timeout")
    with pytest.raises(FirsTransientError) as caught:
        firs.sign(invoice=invoice())
    assert caught.value.status == 504
    assert stored().status == FirsSandboxInvoice.Status.SIGNED


def test_a_timeout_leaves_the_outcome_to_confirm(make_firs, sandbox_credential, invoice):
    sandbox_faults_set(latency_ms=700, only_operations="sign")
    impatient = make_firs(timeout=0.2)
    with pytest.raises(FirsTransientError) as caught:
        impatient.sign(invoice=invoice())
    assert "no reply in time" in str(caught.value)
    deadline = time.monotonic() + 5
    while not FirsSandboxInvoice.objects.filter(irn=IRN).exists():  # FIRS finishes regardless
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert impatient.confirm(irn=IRN).data["irn"] == IRN


def test_an_ambiguous_duplicate_is_transient_and_confirm_tells(firs, invoice):
    FirsSandboxCredential.objects.filter(api_key=API_KEY).update(ambiguous_duplicates=True)
    firs.sign(invoice=invoice())
    with pytest.raises(FirsTransientError):
        firs.sign(invoice=invoice())
    assert firs.confirm(irn=IRN).data["entry_status"] == "signed"


def test_breaker_opens_after_five_outage_failures_for_every_process(firs, invoice, make_firs):
    sandbox_faults_set(server_error_rate=1)
    for _ in range(5):
        with pytest.raises(FirsTransientError):
            firs.confirm(irn=IRN)
    sandbox_faults_reset()
    # FIRS is healthy again, so an answer other than FirsCircuitOpen would mean a request went out.
    with pytest.raises(FirsCircuitOpen) as caught:
        firs.sign(invoice=invoice())
    assert 55 < caught.value.retry_after <= 60
    assert caught.value.permanent is False
    another_process = FirsClient(firs.base_url, API_KEY, API_SECRET, timeout=5)
    another_process.close()  # it makes no request: the shared circuit is open
    with pytest.raises(FirsCircuitOpen):
        another_process.health()
    assert not FirsSandboxInvoice.objects.exists()


def test_breaker_does_not_count_rejections(firs, invoice):
    rejected = invoice()
    rejected["invoice_type_code"] = "999"
    for _ in range(10):
        with pytest.raises(FirsPermanentError):
            firs.validate(invoice=rejected)
    assert firs.breaker.state == "closed"

    sandbox_faults_set(server_error_rate=1, only_operations="sign")
    for _ in range(4):
        with pytest.raises(FirsTransientError):
            firs.sign(invoice=invoice())
    with pytest.raises(FirsPermanentError):  # FIRS answering is not FIRS failing
        firs.validate(invoice=rejected)
    for _ in range(4):
        with pytest.raises(FirsTransientError):
            firs.sign(invoice=invoice())
    assert firs.breaker.state == "closed"


def test_half_open_probe_closes_the_circuit_when_firs_is_back(make_firs, sandbox_credential):
    breaker = SharedCircuitBreaker(name="probe-test", reset_timeout=0.3)
    client = make_firs(breaker=breaker)
    sandbox_faults_set(server_error_rate=1)
    for _ in range(5):
        with pytest.raises(FirsTransientError):
            client.health()
    assert breaker.state == "open"
    time.sleep(0.35)
    with pytest.raises(FirsTransientError):  # the probe goes out, and fails
        client.health()
    with pytest.raises(FirsCircuitOpen):  # so the circuit is open again
        client.health()
    time.sleep(0.35)
    sandbox_faults_reset()
    assert client.health().data == {"healthy": True}
    assert breaker.state == "closed"


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_refused_connections_are_retried_then_unreachable(monkeypatch, make_firs):
    attempts = []
    connect = urllib3.util.connection.create_connection

    def counting_connect(*args, **kwargs):
        attempts.append(args[0])
        return connect(*args, **kwargs)

    monkeypatch.setattr(urllib3.util.connection, "create_connection", counting_connect)
    nowhere = make_firs(base_url=f"http://127.0.0.1:{_closed_port()}")
    with pytest.raises(FirsUnreachable) as caught:
        nowhere.confirm(irn=IRN)
    assert len(attempts) == 3
    assert caught.value.permanent is False


def test_secrets_stay_out_of_logs_and_errors(firs, invoice, sandbox_url, caplog):
    caplog.set_level(logging.DEBUG)
    messages = []
    firs.sign(invoice=invoice())
    for faults in ({"server_error_rate": 1}, {"dropped_reply_rate": 1}, {"platform_error_rate": 1}):
        sandbox_faults_set(**faults)
        with pytest.raises(FirsTransientError) as caught:
            firs.confirm(irn=IRN)
        messages.append(f"{caught.value} {caught.value!r} {caught.value.__cause__}")
        sandbox_faults_reset()
    with pytest.raises(DuplicateIrn) as caught:
        firs.sign(invoice=invoice())
    messages.append(str(caught.value))
    assert "FIRS confirm" in caplog.text
    assert API_SECRET not in caplog.text
    assert not any(API_SECRET in message for message in messages)
    assert API_SECRET not in repr(firs)


def test_client_for_an_organization(sandbox_url, sandbox_credential, invoice):
    organization = OrganizationFactory(
        firs_base_url=sandbox_url, firs_api_key=API_KEY, firs_api_secret=API_SECRET
    )
    with firs_client_for(organization=organization) as firs:
        firs.breaker.reset()
        assert firs.sign(invoice=invoice()).status == 201

    organization.firs_api_secret = UnreadableSecret("gAAAA-stale-token")
    with pytest.raises(FirsAuthenticationError, match="re-enter"):
        firs_client_for(organization=organization)
    organization.firs_base_url = ""
    with pytest.raises(FirsPermanentError, match="no FIRS base URL"):
        firs_client_for(organization=organization)


@pytest.mark.parametrize(
    "example",
    ["b2b-invoice-it-equipment", "b2c-pos-receipt-mixed-vat", "b2b-credit-note-laptop-return"],
)
def test_the_worked_examples_pass_sandbox_validation(make_firs, firs_example, example):
    sandbox_credential_create(api_key="open-key", api_secret="open-secret")
    firs = make_firs("open-key", "open-secret")
    assert firs.validate(invoice=firs_example(example)).data == {"ok": True}
