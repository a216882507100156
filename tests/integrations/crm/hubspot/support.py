"""What the HubSpot tests share: the samples, a company and contact for the sample deal, and a
client that calls the sandbox as one account."""

import json
from pathlib import Path

FIXTURES_DIR = Path(__file__).resolve().parent / "fixtures"
BASE = "/sandbox/hubspot"
# The company and contact the sample deal (get-deal-with-associations.json) is associated with.
SAMPLE_COMPANY = {
    "id": "9876543210",
    "properties": {
        "name": "Acme Ltd",
        "tin": "12345678-0001",
        "address": "12 Adeola Odeku Street",
        "address2": "Victoria Island",
        "city": "Lagos",
        "state": "Lagos",
        "zip": "101241",
        "country": "Nigeria",
        "phone": None,
    },
}
SAMPLE_CONTACT = {
    "id": "501",
    "properties": {
        "firstname": "Ada",
        "lastname": "Obi",
        "email": "ada.obi@acme.ng",
        "phone": "08031234567",
    },
}


def sample(name: str):
    return json.loads((FIXTURES_DIR / f"{name}.json").read_text(encoding="utf-8"))


def sample_bytes(name: str) -> bytes:
    return (FIXTURES_DIR / f"{name}.json").read_bytes()


class SandboxClient:
    """Calls the sandbox through Django's test client with a bearer token:
    ``hubspot.post("/crm/v3/objects/deals", {...})``."""

    def __init__(self, client, token: str):
        self.client = client
        self.token = token

    def get(self, path: str, **query):
        return self.client.get(BASE + path, query, headers=self._headers())

    def post(self, path: str, body=None):
        return self.client.post(
            BASE + path, data=body, content_type="application/json", headers=self._headers()
        )

    def patch(self, path: str, body=None):
        return self.client.patch(
            BASE + path, data=body, content_type="application/json", headers=self._headers()
        )

    def _headers(self) -> dict:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}


def to(object_id, type_id: int) -> dict:
    """An association input of a create request."""
    return {
        "to": {"id": str(object_id)},
        "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": type_id}],
    }
