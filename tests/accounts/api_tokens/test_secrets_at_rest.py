"""No API token can be read back: not from a plaintext dump of the database, not from any admin
page. A token given out by the demo data (as `make run` does) and one made on the API tokens page
are each used on the API first, so whatever a request stores is in the dump too."""

import re

import pytest
from django.contrib import admin
from django.db import connection
from django.test import RequestFactory
from django.urls import reverse

from accounts.models import User
from accounts.services import demo_data_ensure

pytestmark = pytest.mark.django_db


def _database_dump() -> str:
    """Every row of every table as JSON text, as a plaintext dump would show it."""
    with connection.cursor() as cursor:
        tables = connection.introspection.table_names(cursor, include_views=False)
        lines = []
        for table in tables:
            table_name = connection.ops.quote_name(table)
            cursor.execute(f"SELECT row_to_json(t)::text FROM {table_name} t")
            lines.extend(row for (row,) in cursor.fetchall())
    return "\n".join(lines)


def _demo_token() -> tuple[User, str]:
    demo = demo_data_ensure(operator_password="op-pass-1", tenant_password="te-pass-1")
    return demo.tenant, demo.api_token


def _assert_works(api_client, raw: str) -> None:
    response = api_client.get("/api/v1/organizations/", HTTP_AUTHORIZATION=f"Token {raw}")
    assert response.status_code == 200, response.content


def test_a_database_dump_holds_no_demo_api_token(api_client):
    _, raw = _demo_token()
    _assert_works(api_client, raw)
    dump = _database_dump()
    assert "Demo Foods Ltd" in dump  # the dump does read the rows
    assert raw not in dump


def test_a_database_dump_holds_no_token_made_on_the_tokens_page(client, api_client, owner_a):
    client.force_login(owner_a)
    page = client.post(reverse("api_tokens:list"), {"name": "ERP bridge", "expires_in": ""})
    assert page.status_code == 201
    raw = re.search(r'id="issued-token"[^>]*value="([^"]+)"', page.content.decode()).group(1)
    _assert_works(api_client, raw)
    assert raw not in _database_dump()


def _admin_pages(user: User) -> list[str]:
    """Each registered model's list, and the change page of its first row."""
    urls = []
    for model, model_admin in admin.site._registry.items():
        info = (model._meta.app_label, model._meta.model_name)
        urls.append(reverse("admin:{}_{}_changelist".format(*info)))
        first = model_admin.get_queryset(_request_as(user)).first()
        if first is not None:
            urls.append(reverse("admin:{}_{}_change".format(*info), args=[first.pk]))
    return urls


def _request_as(user: User):
    request = RequestFactory().get("/admin/")
    request.user = user
    return request


def test_no_admin_page_shows_an_api_token(client, staff_login):
    tenant, raw = _demo_token()
    operator = User.objects.get(username="operator")
    staff_login(client, operator)
    urls = [*_admin_pages(operator), reverse("admin:accounts_user_change", args=[tenant.pk])]
    for url in urls:
        page = client.get(url)
        assert page.status_code == 200, url
        assert raw not in page.content.decode(), url
    found = client.get(reverse("admin:accounts_apitoken_changelist"), {"q": raw[:8]})
    assert "1 API token\n" in found.content.decode()
    assert raw not in found.content.decode()
