"""Sandbox keys, invoices, and a FIRS client that reaches the sandbox through pytest-django's live
server, i.e. over a real socket."""

import gc

import pytest
from django.core.cache import cache

from invoices.firs.client import FirsClient
from sandboxes.firs.server import FAULTS_CACHE_KEY, sandbox_credential_create

API_KEY = "0b5e7f0e-3c1a-4d2b-9f6e-7a8c9d0e1f2a"
# A canary: tests assert it never shows up in logs or error messages.
API_SECRET = "canary-secret-5f1d9c7be3a24f60a8d2"
# Those of the worked B2B example in tests/invoices/fixtures.
BUSINESS_ID = "7b1e3c52-9a4d-4f0e-8c21-5d6f0a9e4b13"
SERVICE_ID = "A7K3Q9ZD"
IRN = f"INV2026011401-{SERVICE_ID}-20260114"


@pytest.fixture(autouse=True)
def fresh_fault_cache():
    # The fault row goes with each test's database; its cached copy must go too.
    cache.delete(FAULTS_CACHE_KEY)
    yield
    cache.delete(FAULTS_CACHE_KEY)


@pytest.fixture
def sandbox_credential():
    return sandbox_credential_create(
        api_key=API_KEY,
        api_secret=API_SECRET,
        label="tests",
        business_id=BUSINESS_ID,
        service_id=SERVICE_ID,
    )


@pytest.fixture
def invoice(firs_example):
    """The worked B2B invoice; ``invoice(number="INV2")`` gives it another IRN."""

    def make(*, number: str = "INV2026011401") -> dict:
        payload = firs_example("b2b-invoice-it-equipment")
        payload["irn"] = f"{number}-{SERVICE_ID}-20260114"
        return payload

    return make


@pytest.fixture
def sandbox_url(live_server):
    return f"{live_server.url}/sandbox/firs"


@pytest.fixture
def make_firs(sandbox_url):
    """FIRS clients for the sandbox; closed at the end so no live-server thread (and its database
    connection) outlives the test."""
    made = []

    def make(api_key: str = API_KEY, api_secret: str = API_SECRET, **options) -> FirsClient:
        base_url = options.pop("base_url", sandbox_url)
        client = FirsClient(
            base_url, api_key, api_secret, timeout=options.pop("timeout", 5), **options
        )
        client.breaker.reset()
        made.append(client)
        return client

    yield make
    for client in made:
        client.breaker.reset()
        client.close()
    # urllib3 2 closes a dropped pool's sockets when the pool is garbage collected, and a caught
    # exception's traceback (a reference cycle) can hold one until the cycle collector runs.
    gc.collect()


@pytest.fixture
def firs(make_firs, sandbox_credential):
    return make_firs()
