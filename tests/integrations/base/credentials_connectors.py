"""Connectors that exist only for tests: a POS platform connected with an API key (as Odoo will
be) and a CRM connected with client credentials (as Toast will be). Neither has webhooks, pulls
or a sandbox, so neither writes a method for them. Their checks call fake endpoints (mocked
with ``responses``)."""

from collections.abc import Mapping

from integrations.base.connectors import (
    ApiKeyConnector,
    ClientCredentialsConnector,
    CredentialField,
)
from integrations.base.http import PlatformClient
from integrations.crm.connectors import CRMConnector
from integrations.pos.connectors import POSConnector

KEY_POS_URL = "https://keypos.example"
CLIENT_CRM_URL = "https://clientcrm.example"


class KeyPOSClient(PlatformClient):
    platform = "Key POS"


class ClientCRMClient(PlatformClient):
    platform = "Client CRM"


class KeyPOSConnector(POSConnector, ApiKeyConnector):
    key = "keypos"
    display_name = "Key POS"
    default_base_url = KEY_POS_URL
    credential_fields = (
        CredentialField("database", "Database", secret=False),
        CredentialField("api_key", "API key", help_text="Settings → Developer tools → API keys"),
    )

    def credentials_check(self, credentials: Mapping[str, str]) -> str:
        client = KeyPOSClient(
            base_url=self.base_url, account="", access_token=credentials["api_key"]
        )
        answer = client.call("GET", "/api/whoami", params={"db": credentials["database"]})
        return str(answer["company_id"])

    def test_connection(self) -> None:
        self.credentials_check(self.credentials)


class ClientCredentialsCRMConnector(CRMConnector, ClientCredentialsConnector):
    key = "clientcrm"
    display_name = "Client CRM"
    default_base_url = CLIENT_CRM_URL
    credential_fields = (
        CredentialField("client_id", "Client id", secret=False),
        CredentialField("client_secret", "Client secret"),
    )

    def credentials_check(self, credentials: Mapping[str, str]) -> str:
        login = ClientCRMClient(base_url=self.base_url, account=credentials["client_id"])
        token = login.call(
            "POST",
            "/authentication/login",
            json={
                "clientId": credentials["client_id"],
                "clientSecret": credentials["client_secret"],
            },
        )
        client = ClientCRMClient(
            base_url=self.base_url,
            account=credentials["client_id"],
            access_token=token["accessToken"],
        )
        account = client.call("GET", "/account")
        return str(account["guid"])

    def test_connection(self) -> None:
        self.credentials_check(self.credentials)

    def pipelines(self):
        return []
