"""HubSpot's OAuth: social-core's HubSpot backend, plus the revoke call social-core lacks.
The connect, refresh and revoke steps are the shared adapter's (integrations.base.oauth)."""

from urllib.parse import quote

from social_core.backends.hubspot import HubSpotOAuth2


class HubSpotConnectOAuth2(HubSpotOAuth2):
    # HubSpot revokes a grant by deleting its refresh token: this prefix, then the token.
    REVOKE_TOKEN_URL = "https://api.hubapi.com/oauth/v1/refresh-tokens/"  # noqa: S105 (a URL)
    REVOKE_TOKEN_METHOD = "DELETE"  # noqa: S105 (an HTTP method)

    def revoke_token_url(self, token: str, uid: str | None) -> str:
        return f"{self.REVOKE_TOKEN_URL}{quote(token, safe='')}"
