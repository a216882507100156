"""The FIRS client's live tests run against the FIRS sandbox: its keys, invoices and clients."""

from tests.sandboxes.firs.conftest import (  # noqa: F401 (fixtures)
    firs,
    fresh_fault_cache,
    invoice,
    make_firs,
    sandbox_credential,
    sandbox_url,
)
