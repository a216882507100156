"""Operators list API tokens by prefix, user and dates, and revoke them; they cannot make one."""

import pytest
from django.contrib.auth.models import Permission

from accounts.api_tokens import services
from accounts.api_tokens.models import ApiToken
from accounts.models import OperatorAssignment
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_the_list_shows_prefix_user_and_dates(admin_client, owner_a):
    issued = services.api_token_create(user=owner_a, name="ERP bridge")
    page = admin_client.get("/admin/accounts/apitoken/").content.decode()
    assert issued.token.prefix in page and owner_a.username in page and "ERP bridge" in page
    assert issued.token.digest not in page


def test_tokens_are_not_made_or_edited_in_the_admin(admin_client, owner_a):
    issued = services.api_token_create(user=owner_a, name="ERP bridge")
    assert admin_client.get("/admin/accounts/apitoken/add/").status_code == 403
    page = admin_client.get(f"/admin/accounts/apitoken/{issued.token.pk}/change/")
    assert page.status_code == 200 and 'name="_save"' not in page.content.decode()
    edit = admin_client.post(
        f"/admin/accounts/apitoken/{issued.token.pk}/change/",
        {"name": "renamed", "prefix": "xxxxxxxx"},
    )
    assert edit.status_code == 403
    token = ApiToken.objects.get(pk=issued.token.pk)
    assert (token.name, token.prefix) == ("ERP bridge", issued.raw[:8])


def test_staff_without_the_change_permission_cannot_revoke(client, owner_a, staff_login):
    viewer = UserFactory(is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_apitoken"))
    issued = services.api_token_create(user=owner_a, name="ERP bridge")
    OperatorAssignment.objects.create(
        operator=viewer, organization=owner_a.memberships.get().organization
    )
    staff_login(client, viewer)
    assert issued.token.prefix in client.get("/admin/accounts/apitoken/").content.decode()
    client.post(
        "/admin/accounts/apitoken/", {"action": "revoke", "_selected_action": [issued.token.pk]}
    )
    assert ApiToken.objects.get(pk=issued.token.pk).revoked_at is None


def test_the_revoke_action_stops_the_selected_tokens(admin_client, api_client, owner_a):
    chosen = services.api_token_create(user=owner_a, name="leaked")
    kept = services.api_token_create(user=owner_a, name="kept")
    response = admin_client.post(
        "/admin/accounts/apitoken/",
        {"action": "revoke", "_selected_action": [chosen.token.pk]},
        follow=True,
    )
    assert "1 API token(s) revoked." in response.content.decode()
    for issued, status in ((chosen, 401), (kept, 200)):
        answer = api_client.get("/api/v1/organizations/", HTTP_AUTHORIZATION=f"Token {issued.raw}")
        assert answer.status_code == status
