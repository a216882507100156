"""What a FIRS call can fail with, on top of the connector error classes.

Callers decide retries by class (or ``permanent``):
- ``DuplicateIrn``: FIRS already holds this IRN. Resolve it with ``confirm``; never mint a new IRN.
- ``FirsTransientError`` (and ``FirsRateLimited``, ``FirsCircuitOpen``, ``FirsUnreachable``): try
  again later with the same IRN, not before ``retry_after`` when it is set. After a transient
  error on ``sign`` the outcome is unknown: ``confirm`` first, sign again only on ``FirsNotFound``.
- ``FirsPermanentError`` (and ``FirsAuthenticationError``, ``FirsNotFound``): a person must act.

Messages carry FIRS's own wording and never a credential.
"""

from integrations.base.errors import (
    AuthenticationError,
    ConnectorError,
    PermanentConnectorError,
    RateLimited,
    TransientConnectorError,
)


class FirsError(ConnectorError):
    """Base of every FIRS error. The envelope fields are empty when there was no reply."""

    operation: str = ""
    details: str = ""
    public_message: str = ""
    error_id: str = ""
    envelope: dict | None = None


class FirsTransientError(FirsError, TransientConnectorError):
    """Timeouts, lost replies, 5xx, and FIRS's "try again later" 400s."""

    retry_after: float | None = None


class FirsUnreachable(FirsTransientError):
    """No connection could be made, so the request never reached FIRS."""


class FirsRateLimited(FirsTransientError, RateLimited):
    """429: not before ``retry_after`` seconds."""


class FirsCircuitOpen(FirsRateLimited):
    """FIRS failed repeatedly; calls are held back for ``retry_after`` seconds (no request made)."""


class FirsPermanentError(FirsError, PermanentConnectorError):
    """A 4xx that the same request cannot fix: validation failures and the like."""


class FirsNotFound(FirsPermanentError):
    """FIRS holds no such invoice (or no such route)."""


class FirsAuthenticationError(FirsError, AuthenticationError):
    """The API key and secret were rejected ("unable to validate api key") or are unreadable."""


class DuplicateIrn(FirsPermanentError):
    """FIRS already holds an invoice with this IRN: confirm it instead of submitting again."""

    irn: str = ""
