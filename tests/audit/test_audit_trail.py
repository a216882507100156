"""The audit trail: each service that changes who can do what, secrets or settings, or acts on
invoices records who, when, which organization and what changed (never a secret's value); the
table refuses updates and deletes; owners read their organization's on the Activity page and
operators in the admin."""

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import DatabaseError, transaction
from django.test import Client
from django.urls import reverse
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import services as account_services
from accounts.models import Membership
from accounts.otp import services as otp_services
from audit.models import AuditEvent
from audit.services import HIDDEN_CHANGE, audit_record
from catalog import selectors as catalog_selectors
from catalog import services as catalog_services
from catalog.models import ProductClassification
from integrations.base import pipeline
from integrations.base.connections import (
    connection_disconnect,
    connection_settings_update,
    connection_webhook_secret_rotate,
)
from invoices import services as invoice_services
from tests.factories import (
    PASSWORD,
    InvoiceFactory,
    MembershipFactory,
    POSConnectionFactory,
    POSTransactionFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

Action = AuditEvent.Action
CSV_HEADER = "platform,item_key,name,hs_code,product_category,vat_treatment\n"


def _events(action):
    return list(AuditEvent.objects.filter(action=action).order_by("id"))


def _all_text() -> str:
    return json.dumps(list(AuditEvent.objects.values()), default=str)


def test_the_database_refuses_to_change_or_delete_an_event(org_a, owner_a):
    event = audit_record(action=Action.MEMBER_INVITED, actor=owner_a, organization=org_a)
    for attempt in (
        lambda: AuditEvent.objects.filter(pk=event.pk).update(actor_label="someone else"),
        lambda: AuditEvent.objects.filter(pk=event.pk).delete(),
    ):
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
            attempt()
    assert AuditEvent.objects.get(pk=event.pk).actor_label == owner_a.username


def test_settings_and_secret_changes_are_recorded_apart_and_the_secret_never(org_a, owner_a):
    connection = POSConnectionFactory(organization=org_a, notification_url="https://old.example/")
    connection_settings_update(
        connection=connection,
        changes={"notification_url": "https://new.example/", "webhook_secret": "new-canary-42"},
        actor=owner_a,
    )
    [settings] = _events(Action.CONNECTION_SETTINGS_CHANGED)
    assert (settings.actor, settings.organization_id) == (owner_a, org_a.pk)
    assert settings.changes == {
        "notification_url": ["https://old.example/", "https://new.example/"]
    }
    [secret] = _events(Action.CONNECTION_SECRET_CHANGED)
    assert secret.changes == {"webhook_secret": HIDDEN_CHANGE}
    assert secret.target_id == str(connection.pk)
    rotated = connection_webhook_secret_rotate(connection=connection, actor=owner_a)
    assert len(_events(Action.CONNECTION_SECRET_CHANGED)) == 2
    text = _all_text()
    for secret_value in ("new-canary-42", rotated, "canary-signing-secret-0042"):
        assert secret_value not in text


def test_an_edit_that_changes_nothing_records_nothing(org_a, owner_a):
    connection = POSConnectionFactory(organization=org_a, notification_url="https://same/")
    connection_settings_update(
        connection=connection, changes={"notification_url": "https://same/"}, actor=owner_a
    )
    assert not AuditEvent.objects.exists()


def test_disconnecting_is_recorded_without_the_tokens(org_a, owner_a):
    connection = POSConnectionFactory(organization=org_a)
    connection_disconnect(connection=connection, actor=owner_a)
    [event] = _events(Action.CONNECTION_DISCONNECTED)
    assert (event.actor, event.organization_id, event.target_id) == (
        owner_a,
        org_a.pk,
        str(connection.pk),
    )
    assert "EAAA-canary-token" not in _all_text()


def test_a_sandbox_connection_is_recorded_as_connected(org_a, owner_a, settings):
    settings.SANDBOX_ENABLED = True
    from integrations.base.sandbox_accounts import connection_sandbox_create

    connection = connection_sandbox_create(
        family="pos",
        platform="square",
        organization=org_a,
        user=owner_a,
        site_url="http://testserver",
    )
    [event] = _events(Action.CONNECTION_CONNECTED)
    assert event.changes["platform"] == [None, "square"]
    assert event.changes["credentials"] == HIDDEN_CHANGE
    assert event.target_id == str(connection.pk)
    assert json.loads(connection.credentials_encrypted)["access_token"] not in _all_text()


def test_a_persons_redrive_and_retry_are_recorded_automations_are_not(org_a, owner_a):
    invoice = InvoiceFactory(organization=org_a, stage="validated", status="needs_attention")
    assert invoice_services.invoice_redrive(invoice=invoice, actor=owner_a)
    invoice.refresh_from_db()
    invoice_services.invoice_redrive(invoice=invoice, actor="the FIRS breaker's probe")
    [event] = _events(Action.INVOICE_REDRIVEN)
    assert (event.actor, event.target_id) == (owner_a, str(invoice.pk))

    row = POSTransactionFactory(connection__organization=org_a, status="failed")
    assert pipeline.source_retry(row=row, actor=owner_a)
    [retried] = _events(Action.SOURCE_RETRIED)
    assert (retried.actor, retried.organization_id) == (owner_a, org_a.pk)


def test_invitations_joins_role_changes_and_removals_are_recorded(
    org_a, owner_a, sent_invitation_token, admin_client
):
    invitation = account_services.invitation_create(
        organization=org_a,
        actor=owner_a,
        email="new@example.com",
        role="member",
        site_url="http://testserver",
    )
    joiner = UserFactory(email="new@example.com")
    membership = account_services.invitation_accept(invitation=invitation, user=joiner)
    admin_client.post(
        f"/admin/accounts/membership/{membership.pk}/change/",
        {"user": joiner.pk, "organization": org_a.pk, "role": "admin"},
    )
    account_services.membership_remove(
        organization=org_a, actor=owner_a, membership_id=membership.pk
    )
    actions = list(
        AuditEvent.objects.filter(organization=org_a)
        .order_by("id")
        .values_list("action", "changes")
    )
    assert actions == [
        (Action.MEMBER_INVITED, {"email": [None, "new@example.com"], "role": [None, "member"]}),
        (Action.MEMBER_JOINED, {"role": [None, "member"], "invited_by": [None, owner_a.pk]}),
        (Action.MEMBER_ROLE_CHANGED, {"role": ["member", "admin"]}),
        (Action.MEMBER_REMOVED, {"role": ["admin", None]}),
    ]


def test_profile_changes_record_before_and_after(org_a, owner_a):
    account_services.organization_profile_update(
        organization=org_a, actor=owner_a, legal_name="Renamed Foods Ltd"
    )
    [event] = _events(Action.ORGANIZATION_PROFILE_CHANGED)
    assert event.changes["legal_name"][1] == "Renamed Foods Ltd"


def test_second_factor_enrolment_and_codes_are_recorded():
    staff = UserFactory(is_staff=True)
    device = otp_services.totp_enrolment_start(user=staff)
    code = TOTP(device.bin_key, device.step, device.t0, device.digits).token()
    otp_services.totp_enrolment_confirm(user=staff, device_id=device.pk, token=f"{code:06d}")
    assert otp_services.otp_device_for_code(user=staff, token="000000") is None
    enrolled, failed = _events(Action.MFA_ENROLLED), _events(Action.MFA_FAILED)
    assert [e.actor for e in enrolled + failed] == [staff, staff]
    assert enrolled[0].organization_id is None
    assert device.key not in _all_text()
    assert TOTPDevice.objects.get(pk=device.pk).confirmed


def test_a_lockout_is_recorded_once_in_each_of_the_accounts_organizations(client, org_a, org_b):
    locked = MembershipFactory(organization=org_a).user
    MembershipFactory(organization=org_b, user=locked)
    for _ in range(7):
        client.post("/login/", {"username": locked.username, "password": "wrong"})
    right = client.post("/login/", {"username": locked.username, "password": PASSWORD})
    assert right.status_code == 429
    events = _events(Action.LOGIN_LOCKED_OUT)
    assert sorted(e.organization_id for e in events) == sorted([org_a.pk, org_b.pk])
    assert {e.actor_label for e in events} == {locked.username}
    for _ in range(5):
        client.post("/login/", {"username": "nobody-at-all", "password": "wrong"})
    assert len(_events(Action.LOGIN_LOCKED_OUT)) == 2


def test_owners_read_their_organizations_activity_others_do_not(client, org_a, org_b, owner_a):
    audit_record(action=Action.MEMBER_INVITED, actor=owner_a, organization=org_a)
    audit_record(action=Action.INVITATION_REVOKED, actor_label="elsewhere", organization=org_b)
    client.force_login(owner_a)
    page = client.get("/activity/")
    assert page.status_code == 200
    assert [e.action for e in page.context["events"]] == [Action.MEMBER_INVITED]
    assert "elsewhere" not in page.content.decode()

    member = MembershipFactory(organization=org_a, role=Membership.Role.ADMIN).user
    client.force_login(member)
    assert client.get("/activity/").status_code == 403


def test_the_admin_shows_events_and_changes_none(admin_client, org_a, owner_a):
    event = audit_record(action=Action.MEMBER_INVITED, actor=owner_a, organization=org_a)
    url = f"/admin/audit/auditevent/{event.pk}/"
    assert admin_client.get(f"{url}change/").status_code == 200
    assert admin_client.post(f"{url}change/", {"actor_label": "x"}).status_code == 403
    assert admin_client.post(f"{url}delete/", {"post": "yes"}).status_code == 403
    assert AuditEvent.objects.get(pk=event.pk).actor_label == owner_a.username


def test_classifying_a_product_records_who_from_the_page_the_import_and_the_admin(
    org_a, owner_a, admin_client, admin_user, monkeypatch
):
    rice = ProductClassification.objects.create(
        organization=org_a, platform="square", item_key="SQ-RICE", name="Rice 5kg"
    )
    client = Client()  # admin_client is the default client, signed in as the operator
    client.force_login(owner_a)
    client.post(
        reverse("catalog:edit", args=[rice.pk]),
        {"hs_code": "1006.3000", "product_category": "Grains", "vat_treatment": "exempt"},
    )
    [edited] = _events(Action.PRODUCT_CLASSIFIED)
    assert (edited.actor, edited.organization_id, edited.target_id) == (
        owner_a,
        org_a.pk,
        str(rice.pk),
    )
    assert edited.changes == {
        "hs_code": ["", "1006.3000"],
        "product_category": ["", "Grains"],
        "vat_treatment": ["unclassified", "exempt"],
    }

    # An import records one event naming each item it changed, not the ones it left as they were.
    exported = catalog_selectors.classifications_csv(organization=org_a)
    text = exported + "square,SQ-MILO,Milo 500g,1806.9000,Beverages,standard\n"
    client.post(
        reverse("catalog:import"),
        {"file": SimpleUploadedFile("products.csv", text.encode(), content_type="text/csv")},
    )
    [imported] = _events(Action.PRODUCTS_IMPORTED)
    assert imported.actor == owner_a
    assert imported.changes == {
        "square:SQ-MILO": [None, ["1806.9000", "Beverages", "standard"]],
    }

    # A big import names the first items it changed, then how many more.
    monkeypatch.setattr(catalog_services, "IMPORT_CHANGES_RECORDED", 1)
    many = CSV_HEADER + "".join(
        f"square,SQ-{n},Item {n},1806.9000,Food,standard\n" for n in range(3)
    )
    client.post(
        reverse("catalog:import"),
        {"file": SimpleUploadedFile("many.csv", many.encode(), content_type="text/csv")},
    )
    big = _events(Action.PRODUCTS_IMPORTED)[-1]
    assert big.changes == {
        "square:SQ-0": [None, ["1806.9000", "Food", "standard"]],
        "more items": [None, 2],
    }

    # An operator's edit in the admin is recorded under the operator.
    admin_client.post(
        f"/admin/catalog/productclassification/{rice.pk}/change/",
        {
            "organization": org_a.pk,
            "platform": "square",
            "item_key": "SQ-RICE",
            "name": "Rice 5kg",
            "hs_code": "1905.9000",
            "product_category": "Bakery",
            "vat_treatment": "standard",
        },
    )
    operator_edit = _events(Action.PRODUCT_CLASSIFIED)[-1]
    assert operator_edit.actor == admin_user
    assert operator_edit.changes["vat_treatment"] == ["exempt", "standard"]
    # Saving what is already stored records nothing.
    events_before = AuditEvent.objects.count()
    client.post(
        reverse("catalog:edit", args=[rice.pk]),
        {"hs_code": "1905.9000", "product_category": "Bakery", "vat_treatment": "standard"},
    )
    assert AuditEvent.objects.count() == events_before
