import uuid

import pytest
from django.core.cache import cache
from django.db import connection

from sandboxes.kit.faults import cache_key
from tests.sandboxes.kit.acme import ACME_MODELS, AcmeShop


@pytest.fixture
def acme_tables(db):
    """Acme's tables, inside the test's transaction: gone with it."""
    with connection.schema_editor() as editor:
        for model in ACME_MODELS:
            editor.create_model(model)
    for sandbox in ("acme", "acme-first"):
        for account in ("", "shop-1", "shop-2"):
            cache.delete(cache_key(sandbox=sandbox, account=account))
    yield
    for sandbox in ("acme", "acme-first"):
        for account in ("", "shop-1", "shop-2"):
            cache.delete(cache_key(sandbox=sandbox, account=account))


@pytest.fixture
def shop(acme_tables):
    return AcmeShop.objects.create(
        shop_id="shop-1",
        token=f"tok-{uuid.uuid4()}",
        client_id="client-1",
        client_secret="secret-1",
    )


@pytest.fixture
def other_shop(acme_tables):
    return AcmeShop.objects.create(
        shop_id="shop-2",
        token=f"tok-{uuid.uuid4()}",
        client_id="client-2",
        client_secret="secret-2",
    )
