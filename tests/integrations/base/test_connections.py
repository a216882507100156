"""Connection writes shared by every family."""

import pytest

from integrations.base.connections import connection_settings_update
from integrations.pos.models import POSConnection
from tests.factories import POSConnectionFactory

pytestmark = pytest.mark.django_db


def test_a_settings_edit_stores_its_columns_only_and_merges_the_settings():
    stored = POSConnectionFactory(
        connection_settings={"default_hs_code": "0000.0000", "default_product_category": "Food"}
    )
    read_before = POSConnection.objects.get(pk=stored.pk)
    # A worker writes while the owner's edit is in flight.
    POSConnection.objects.filter(pk=stored.pk).update(
        health=POSConnection.Health.FAILING, last_error="Square answered 401", sync_cursor="c-9"
    )

    connection_settings_update(
        connection=read_before,
        changes={
            "notification_url": "https://shop.example/hooks/square",
            "connection_settings": {"default_hs_code": "2202.1000"},
        },
    )

    stored.refresh_from_db()
    assert stored.notification_url == "https://shop.example/hooks/square"
    assert stored.connection_settings == {
        "default_hs_code": "2202.1000",
        "default_product_category": "Food",
    }
    assert (stored.health, stored.last_error, stored.sync_cursor) == (
        "failing",
        "Square answered 401",
        "c-9",
    )


def test_no_changes_write_nothing():
    stored = POSConnectionFactory()
    before = POSConnection.objects.values_list("updated_at", flat=True).get(pk=stored.pk)

    connection_settings_update(connection=stored, changes={})

    assert POSConnection.objects.values_list("updated_at", flat=True).get(pk=stored.pk) == before
