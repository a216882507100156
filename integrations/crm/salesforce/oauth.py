"""Salesforce's OAuth web-server flow on social-core's Salesforce backend. The token answer is
checked before anything is kept: its ``signature`` (our consumer secret over ``id`` and
``issued_at``) must verify, the org id is read from the ``id`` URL and ``instance_url``, the
org's API host, must be Salesforce's over HTTPS (or, for our sandbox, the issuer's origin).
No user-info call is made: social-core's would send the token to whatever ``id`` names."""

from urllib.parse import urlsplit

from social_core.backends.salesforce import SalesforceOAuth2
from social_core.exceptions import AuthException

from integrations.crm.salesforce import constants
from integrations.crm.salesforce.signatures import token_signature_valid


class SalesforceConnectOAuth2(SalesforceOAuth2):
    name = "salesforce"
    # ``refresh_token`` is what Salesforce calls offline access.
    DEFAULT_SCOPE = ["api", "refresh_token"]

    def revoke_token_params(self, token: str, uid) -> dict[str, str]:
        return {"token": token}

    def user_data(self, access_token: str, *args, **kwargs) -> dict:
        answer = kwargs.get("response") or {}
        problem = answer_problem(
            answer, client_secret=self.get_key_and_secret()[1], issuer=self.access_token_url()
        )
        if problem:
            raise AuthException(self, problem)
        return {"organization_id": org_id_of(answer["id"])}


def answer_problem(answer: object, *, client_secret: str, issuer: str) -> str:
    """Why a token answer cannot be trusted, or "" when it can."""
    if not isinstance(answer, dict):
        return "Salesforce's token answer is not an object"
    if not token_signature_valid(answer=answer, client_secret=client_secret):
        return "Salesforce's token answer has no valid signature"
    if not org_id_of(answer.get("id")):
        return "Salesforce's token answer names no org in its id"
    if not instance_url_checked(answer.get("instance_url"), issuer=issuer):
        return "Salesforce's token answer names no usable instance_url"
    return ""


def org_id_of(identity_url: object) -> str:
    """The org id of an identity URL ``https://<login host>/id/<org id>/<user id>``."""
    if not isinstance(identity_url, str):
        return ""
    parts = urlsplit(identity_url).path.strip("/").split("/")
    if len(parts) >= 3 and parts[-3] == "id" and constants.ORG_ID_PATTERN.fullmatch(parts[-2]):
        return parts[-2]
    return ""


def instance_url_checked(value: object, *, issuer: str) -> str:
    """``value`` when the tokens may be sent there: a Salesforce host over HTTPS, or the very
    origin of the (sandbox) OAuth server that issued them. "" otherwise."""
    if not isinstance(value, str) or not value:
        return ""
    parts, origin = urlsplit(value), urlsplit(issuer)
    if parts.query or parts.fragment or parts.username or parts.password:
        return ""
    host = parts.hostname or ""
    if (
        parts.scheme == "https"
        and not parts.port
        and host.endswith(constants.INSTANCE_HOST_SUFFIXES)
    ):
        return f"https://{host}"
    if (parts.scheme, parts.netloc) == (origin.scheme, origin.netloc) and not host.endswith(
        constants.INSTANCE_HOST_SUFFIXES
    ):
        return value.rstrip("/")
    return ""


def login_host_checked(value: object) -> str:
    """A login host a tenant may choose: production, sandbox, or the org's My Domain."""
    if not isinstance(value, str):
        return ""
    value = value.strip().rstrip("/").lower()
    if value in (constants.PRODUCTION_LOGIN, constants.SANDBOX_LOGIN):
        return value
    return value if constants.MY_DOMAIN_PATTERN.fullmatch(value) else ""
