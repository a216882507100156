"""Errors a connector raises. ``permanent`` decides retry: transient faults are retried with
backoff; permanent ones go to a human (``needs_attention``) at once."""


class ConnectorError(Exception):
    permanent: bool = False

    def __init__(
        self, message: str = "", *, permanent: bool | None = None, status: int | None = None
    ):
        super().__init__(message)
        if permanent is not None:
            self.permanent = permanent
        self.status = status


class TransientConnectorError(ConnectorError):
    """Timeouts, connection resets, 5xx: worth trying again later."""

    permanent = False


class RateLimited(TransientConnectorError):
    """429 or an exhausted budget; ``retry_after`` seconds is the earliest allowed retry. A call
    held back by the account's pause, never sent, has no ``status``."""

    def __init__(
        self, message: str = "", *, retry_after: float | None = None, status: int | None = 429
    ):
        super().__init__(message, status=status)
        self.retry_after = retry_after


class PermanentConnectorError(ConnectorError):
    """Validation failures and other 4xx answers that a retry cannot fix."""

    permanent = True


class AuthenticationError(PermanentConnectorError):
    """The platform refused the credentials (401, 403, a revoked grant or refresh token): no
    retry helps; the connection must be re-authorised."""


class MappingError(PermanentConnectorError):
    """A platform payload that cannot become a canonical sale or deal."""
