"""The POS admin: pages render, secrets never shown, actions call the services."""

import pytest

from tests.factories import POSConnectionFactory, POSTransactionFactory

pytestmark = pytest.mark.django_db


def test_connection_and_transaction_pages_render_without_secrets(admin_client):
    connection = POSConnectionFactory()
    POSTransactionFactory(connection=connection)

    for url in (
        "/admin/pos/posconnection/",
        f"/admin/pos/posconnection/{connection.pk}/change/",
        "/admin/pos/postransaction/",
    ):
        assert admin_client.get(url).status_code == 200, url
    page = admin_client.get(f"/admin/pos/posconnection/{connection.pk}/change/").content.decode()
    assert "canary-signing-secret-0042" not in page
    assert "EAAA-canary-token" not in page


def test_deactivate_action_stops_the_connection(admin_client):
    connection = POSConnectionFactory()

    response = admin_client.post(
        "/admin/pos/posconnection/",
        {"action": "deactivate", "_selected_action": [connection.pk]},
    )

    assert response.status_code == 302
    connection.refresh_from_db()
    assert not connection.is_active
