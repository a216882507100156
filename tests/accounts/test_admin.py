"""Operators' invitation admin: a read-only list with a revoke action; never the token's hash."""

import pytest
from django.contrib.messages import get_messages
from django.utils import timezone

from tests.factories import InvitationFactory, UserFactory

CHANGELIST = "/admin/accounts/invitation/"


@pytest.fixture
def operator_client(client, staff_login):
    staff_login(client, UserFactory(is_staff=True, is_superuser=True))
    return client


@pytest.mark.django_db
def test_operators_list_invitations_without_their_token_hash(operator_client):
    invitation = InvitationFactory(token="listed-token")
    page = operator_client.get(CHANGELIST)
    assert page.status_code == 200
    assert invitation.email in page.content.decode()
    detail = operator_client.get(f"{CHANGELIST}{invitation.pk}/change/")
    assert detail.status_code == 200
    for html in (page.content.decode(), detail.content.decode()):
        assert invitation.token_hash not in html
    assert operator_client.get(f"{CHANGELIST}add/").status_code == 403


@pytest.mark.django_db
def test_operators_revoke_the_selected_open_invitations(operator_client):
    open_one = InvitationFactory()
    used = InvitationFactory(accepted_at=timezone.now())
    response = operator_client.post(
        CHANGELIST, {"action": "revoke", "_selected_action": [open_one.pk, used.pk]}
    )
    assert response.status_code == 302
    assert [str(m) for m in get_messages(response.wsgi_request)] == ["1 invitation(s) revoked."]
    open_one.refresh_from_db()
    used.refresh_from_db()
    assert (open_one.status, used.status) == ("revoked", "accepted")


@pytest.mark.django_db
def test_the_admin_is_branded(operator_client):
    page = operator_client.get("/admin/").content.decode()

    assert "TaxPoynt operations" in page
    assert "<title>Organizations, connections, sales and invoices | TaxPoynt admin</title>" in page
