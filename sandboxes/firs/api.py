"""MBS's HTTP conventions on the kit: its envelopes, API-key authentication, the gateway's and
MBS's fault answers, and dropped replies counted per key.

Every answer is ``{"code", "data"}``; an error is ``{"code", "data": null, "message": "error has
occurred", "error": {id, handler, details?, public_message, errors?}}``. Keys travel as
``x-api-key`` / ``x-api-secret``. Faults apply to every key at once (MBS has no accounts), by
the operation names FirsClient uses; they are switched with ``server.sandbox_faults_set``,
``PUT /sandbox/firs/_sandbox/faults`` (with sandbox keys) or the admin.
"""

import uuid
from collections.abc import Mapping

from django.db import connection
from django.db.models import F
from django.http import HttpResponse, JsonResponse

from sandboxes.firs.models import FirsSandboxCredential
from sandboxes.kit.endpoints import PlatformError, SandboxAPI
from sandboxes.kit.faults import retry_after
from sandboxes.kit.models import SandboxFaults
from taxpoynt.lib.rows import row_by

# What the faults' ``only_operations`` may name (FirsClient uses the same names).
OPERATIONS = frozenset(
    {
        "health",
        "validate_irn",
        "validate",
        "sign",
        "transmit",
        "acknowledge",
        "confirm",
        "download",
        "update_payment_status",
        "resources",
    }
)

ERROR_MESSAGE = "error has occurred"
VALIDATION_PUBLIC_MESSAGE = (
    "validation failed: we are unable to process your request. "
    "also confirm this is not a duplicate request"
)
BUSY_DETAILS = "unable to complete this operation at this time, kindly try again later"
NO_ROUTE_MESSAGE = "no route found for this path. kindly check your request and try again"


class MbsError(PlatformError):
    """An MBS error answer in its envelope."""

    def __init__(
        self,
        details: str,
        *,
        status: int = 400,
        handler: str = "invoice_actions",
        public_message: str = VALIDATION_PUBLIC_MESSAGE,
        field_errors: tuple[dict, ...] = (),
        headers: Mapping[str, str] | None = None,
    ):
        super().__init__(details, status=status, headers=headers)
        self.details = details
        self.handler = handler
        self.public_message = public_message
        self.field_errors = field_errors

    def body(self) -> dict:
        error = {"id": str(uuid.uuid4()), "handler": self.handler}
        if self.details:
            error["details"] = self.details
        error["public_message"] = self.public_message
        if self.field_errors:
            error["errors"] = list(self.field_errors)
        return {"code": self.status, "data": None, "message": ERROR_MESSAGE, "error": error}


def envelope(data, *, code: int = 200) -> JsonResponse:
    return JsonResponse({"code": code, "data": data}, status=code)


def sandbox_credential_authenticate(
    *, api_key: str, api_secret: str, found: FirsSandboxCredential | None = None
) -> FirsSandboxCredential | None:
    """The key's credential when the secret matches; ``found`` is the key's credential (or
    None) when already looked up."""
    if not api_key or not api_secret:
        return None
    if found is None:
        found = row_by(FirsSandboxCredential, field="api_key", value=api_key)
    if found is None or not found.secret_matches(api_secret):
        return None
    return found


def _select(table: str, model) -> tuple[str, tuple[str, ...]]:
    fields = model._meta.concrete_fields
    return (
        ", ".join(f"{table}.{connection.ops.quote_name(one.column)}" for one in fields),
        tuple(one.attname for one in fields),
    )


_FAULT_COLUMNS, _FAULT_NAMES = _select("faults", SandboxFaults)
_KEY_COLUMNS, _KEY_NAMES = _select("credential", FirsSandboxCredential)
# MBS's faults are every key's (no accounts), and the key is looked up right after them: one
# statement for both, instead of a cache round trip and a query (the faults are never stale).
FAULTS_AND_KEY_SQL = f"""
    SELECT {_FAULT_COLUMNS}, {_KEY_COLUMNS}
    FROM (SELECT 1) AS one
    LEFT JOIN {SandboxFaults._meta.db_table} AS faults
        ON faults.sandbox = 'firs' AND faults.account = ''
    LEFT JOIN {FirsSandboxCredential._meta.db_table} AS credential ON credential.api_key = %s
"""  # noqa: S608 (the models' own names)


def sandbox_faults_and_credential(
    *, api_key: str
) -> tuple[SandboxFaults, FirsSandboxCredential | None]:
    """Every key's fault switches (all off when none are set), and the key's credential."""
    with connection.cursor() as cursor:
        cursor.execute(FAULTS_AND_KEY_SQL, [api_key])
        row = cursor.fetchone()
    faults_row, key_row = row[: len(_FAULT_NAMES)], row[len(_FAULT_NAMES) :]
    faults = (
        SandboxFaults(sandbox="firs")
        if faults_row[0] is None
        else SandboxFaults.from_db(connection.alias, _FAULT_NAMES, faults_row)
    )
    credential = (
        None
        if key_row[0] is None
        else FirsSandboxCredential.from_db(connection.alias, _KEY_NAMES, key_row)
    )
    return faults, credential


def credential_count(credential: FirsSandboxCredential, counter: str) -> None:
    FirsSandboxCredential.objects.filter(pk=credential.pk).update(**{counter: F(counter) + 1})


class FirsAPI(SandboxAPI):
    name = "firs"
    error = MbsError
    caller_argument = "credential"
    operations = OPERATIONS
    # MBS refuses a missing body as it refuses one that is not an object.
    empty_body = "null"

    def authenticate(self, request, *, scope: str | None) -> FirsSandboxCredential:
        credential = sandbox_credential_authenticate(
            api_key=request.headers.get("x-api-key", ""),
            api_secret=request.headers.get("x-api-secret", ""),
            found=getattr(request, "_firs_sandbox_credential", None),
        )
        if credential is None:
            raise MbsError("", handler="handler", public_message="unable to validate api key")
        return credential

    def faults_for(self, request, caller) -> SandboxFaults:
        faults, credential = sandbox_faults_and_credential(
            api_key=request.headers.get("x-api-key", "")
        )
        request._firs_sandbox_credential = credential  # for the authentication that follows
        return faults

    def fault_rate_limited(self, faults: SandboxFaults) -> HttpResponse:
        # The gateway in front of MBS answers these, not MBS.
        response = JsonResponse(
            {"code": 429, "data": None, "message": "too many requests, slow down"}, status=429
        )
        response["Retry-After"] = retry_after(faults)
        return response

    def fault_server_error(self, faults: SandboxFaults) -> HttpResponse:
        response = HttpResponse(
            "upstream connect error or disconnect/reset before headers",
            status=faults.server_error_status,
            content_type="text/plain",
        )
        response["Retry-After"] = retry_after(faults)
        return response

    def fault_platform_error(self, faults: SandboxFaults) -> HttpResponse:
        return MbsError(BUSY_DETAILS).response()

    def reply_lost(self, request, *, caller, faults: SandboxFaults) -> HttpResponse:
        if caller is not None:
            credential_count(caller, "dropped_replies")
        return super().reply_lost(request, caller=caller, faults=faults)

    def not_found(self, request) -> HttpResponse:
        return JsonResponse({"code": 404, "data": None, "message": NO_ROUTE_MESSAGE}, status=404)

    def invalid_json(self, error: Exception) -> MbsError:
        return MbsError("invalid request body: not valid JSON")

    def not_an_object(self) -> MbsError:
        return MbsError("invalid request body: expected a JSON object")

    def faults_control_account(self, request) -> str:
        """Every key's switches, for a caller with sandbox keys."""
        self.authenticate(request, scope=None)
        return ""

    def faults_write(self, account: str, *, changes: Mapping) -> dict:
        try:
            return super().faults_write(account, changes=changes)
        except MbsError as error:
            raise MbsError(error.details, handler="sandbox") from None

    def faults_answer(self, settings: dict) -> HttpResponse:
        return envelope(settings)


api = FirsAPI()
