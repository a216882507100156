"""Square's OAuth as a small social-core backend (social-core has none): JSON token calls, the
revoke call authenticated by the app's secret, and a PKCE client that sends no secret. The
connect, refresh and revoke steps are the shared adapter's (integrations.base.oauth)."""

from social_core.backends.oauth import BaseOAuth2

from integrations.pos.square.client import SQUARE_VERSION


class SquareOAuth2(BaseOAuth2):
    name = "square"
    AUTHORIZATION_URL = "https://connect.squareup.com/oauth2/authorize"
    ACCESS_TOKEN_URL = "https://connect.squareup.com/oauth2/token"  # noqa: S105 (a URL)
    REVOKE_TOKEN_URL = "https://connect.squareup.com/oauth2/revoke"  # noqa: S105 (a URL)
    ACCESS_TOKEN_PAYLOAD = "json"  # noqa: S105 (a payload kind)
    SCOPE_SEPARATOR = " "
    # Square's authorize page takes no response_type: the flow is always the code flow.
    RESPONSE_TYPE = ""
    # With PKCE Square treats us as a public client: the verifier stands for the secret.
    PKCE_REPLACES_SECRET = True

    def auth_extra_arguments(self) -> dict[str, str]:
        # The seller signs in on Square's own page, not into an existing Square session.
        return {"session": "false"}

    def auth_headers(self) -> dict[str, str]:
        return {**super().auth_headers(), "Square-Version": SQUARE_VERSION}

    def revoke_token_params(self, token: str, uid: str | None) -> dict[str, str]:
        client_id, _secret = self.get_key_and_secret()
        return {"client_id": client_id, "access_token": token}

    def revoke_token_headers(self, token: str, uid: str | None) -> dict[str, str]:
        _client_id, secret = self.get_key_and_secret()
        return {"Square-Version": SQUARE_VERSION, "Authorization": f"Client {secret}"}
