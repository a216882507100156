"""T2: a support operator in the admin sees and acts on the organizations assigned to them only.

Walks every ModelAdmin registered on the site. A model that reaches an organization by foreign
keys (or is listed in ``ROWS``) holds tenant data: its admin must be a ``TenantModelAdmin`` and
``ROWS`` must say how to make one of its rows for an organization, so a new admin without scoping
fails here. For each, a row of the assigned organization A and one of the unassigned B are made,
and the operator, holding every permission, opens the list, the change, history and delete pages,
the autocomplete of every foreign key to it, the foreign-key choices of its forms and every
action (on A's and B's rows, and "select all"): B's row never shows and no action receives it,
while A's does. Every other admin answers the operator 403. Secrets (canaries) are never in the
HTML, the superuser's included.
"""

import itertools

import pytest
from django.contrib import admin
from django.contrib.auth.models import Permission
from django.forms import ModelChoiceField
from django.urls import reverse
from django.utils import timezone

from accounts.admin_scoping import SuperusersOnlyMixin, TenantModelAdmin
from accounts.api_tokens.models import ApiToken
from accounts.api_tokens.services import api_token_create
from accounts.models import Invitation, Membership, OperatorAssignment, Organization, User
from audit.models import AuditEvent
from audit.services import audit_record
from catalog.models import ProductClassification, TaxAlert
from integrations.base.models import InboundEvent, QuarantinedDelivery, SyncRun
from integrations.crm.models import CRMConnection, CRMDeal
from integrations.erp.models import ERPConnection, ERPDocument
from integrations.pos.models import POSConnection, POSTransaction
from invoices.models import Invoice, InvoiceNumberSequence
from tests.factories import (
    CRMConnectionFactory,
    CRMDealFactory,
    ERPConnectionFactory,
    ERPDocumentFactory,
    InvitationFactory,
    InvoiceFactory,
    MembershipFactory,
    OrganizationFactory,
    POSConnectionFactory,
    POSTransactionFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

_unique = itertools.count()


def _member(org):
    return MembershipFactory(organization=org).user


def _event(org):
    connection = POSConnectionFactory(organization=org)
    return InboundEvent.objects.create(
        family="pos",
        platform="square",
        connection_id=connection.id,
        event_id=f"evt-{next(_unique)}",
        event_type="order.updated",
        payload={"merchant_id": connection.account_id},
        received_at=timezone.now(),
    )


def _quarantined(org):
    connection = CRMConnectionFactory(organization=org)
    return QuarantinedDelivery.objects.create(
        family="crm",
        platform="hubspot",
        connection_id=connection.id,
        reason="bad signature",
        body=b"[]",
    )


def _sync_run(org):
    connection = ERPConnectionFactory(organization=org)
    return SyncRun.objects.create(
        family="erp",
        platform="ledgerly",
        connection_id=connection.id,
        organization=org,
        kind=SyncRun.Kind.INCREMENTAL,
    )


def _classification(org):
    return ProductClassification.objects.create(
        organization=org, platform="square", item_key=f"item-{next(_unique)}", name="Jollof rice"
    )


def _tax_alert(org):
    return TaxAlert.objects.create(
        organization=org,
        classification=_classification(org),
        kind=TaxAlert.Kind.choices[0][0],
        last_seen_at=timezone.now(),
    )


# How to make a row of each tenant model for an organization.
ROWS = {
    Organization: lambda org: org,
    User: _member,
    Membership: lambda org: MembershipFactory(organization=org),
    Invitation: lambda org: InvitationFactory(organization=org),
    ApiToken: lambda org: api_token_create(user=_member(org), name="bridge").token,
    Invoice: lambda org: InvoiceFactory(organization=org),
    InvoiceNumberSequence: lambda org: InvoiceNumberSequence.objects.create(organization=org),
    InboundEvent: _event,
    QuarantinedDelivery: _quarantined,
    SyncRun: _sync_run,
    POSConnection: lambda org: POSConnectionFactory(organization=org),
    POSTransaction: lambda org: POSTransactionFactory(connection__organization=org),
    CRMConnection: lambda org: CRMConnectionFactory(organization=org),
    CRMDeal: lambda org: CRMDealFactory(connection__organization=org),
    ERPConnection: lambda org: ERPConnectionFactory(organization=org),
    ERPDocument: lambda org: ERPDocumentFactory(connection__organization=org),
    ProductClassification: _classification,
    TaxAlert: _tax_alert,
    AuditEvent: lambda org: audit_record(
        action=AuditEvent.Action.MEMBER_INVITED, organization=org, actor_label=org.legal_name
    ),
}

# Values the factories store encrypted; none may appear in an admin page.
CANARIES = ("EAAA-canary-token", "pat-na1-canary-token", "ledgerly-canary-key")
FIRS_CANARIES = {"firs_api_key": "firs-canary-key-7731", "firs_api_secret": "firs-canary-secret"}


def _reaches_organization(model, depth=3) -> bool:
    if model is Organization:
        return True
    if depth == 0:
        return False
    return any(
        _reaches_organization(field.related_model, depth - 1)
        for field in model._meta.get_fields()
        if field.is_relation and (field.many_to_one or field.one_to_one) and field.concrete
    )


def _registered():
    return sorted(admin.site._registry.items(), key=lambda item: item[0]._meta.label)


def _url(model, view, *args):
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


@pytest.fixture
def operator(client, staff_login):
    user = UserFactory(is_staff=True)
    user.user_permissions.set(Permission.objects.all())
    staff_login(client, user)
    return user


@pytest.fixture
def world(operator):
    """A row of every tenant model in A (assigned to the operator) and in B (not)."""
    org_a = OrganizationFactory(**FIRS_CANARIES)
    org_b = OrganizationFactory(**FIRS_CANARIES)
    OperatorAssignment.objects.create(operator=operator, organization=org_a)
    rows = {}
    for model, build in ROWS.items():
        rows[model] = (build(org_a), build(org_b))
    return rows


def test_every_admin_of_tenant_data_is_scoped_and_has_rows_here():
    problems = []
    for model, model_admin in _registered():
        holds_tenant_data = model in ROWS or _reaches_organization(model)
        if holds_tenant_data and not isinstance(model_admin, TenantModelAdmin):
            problems.append(f"{model._meta.label}: its admin must subclass TenantModelAdmin")
        if isinstance(model_admin, TenantModelAdmin) and model not in ROWS:
            problems.append(f"{model._meta.label}: add how to make its rows to ROWS")
        open_to_all = getattr(model_admin, "open_to_support_operators", False)
        if not (holds_tenant_data or open_to_all or isinstance(model_admin, SuperusersOnlyMixin)):
            problems.append(f"{model._meta.label}: neither scoped nor superusers only")
    assert problems == []


class Probes:
    """Counts what the operator was shown of B (foreign) against what was looked at."""

    def __init__(self):
        self.total = 0
        self.leaks: list[str] = []

    def check(self, leaked: bool, what: str) -> None:
        self.total += 1
        if leaked:
            self.leaks.append(what)


def _foreign_choices(form, world, where: str, probes: Probes) -> None:
    for name, field in form.fields.items():
        # A formset's own id field: a forged one matches no row of the formset and is ignored.
        if not isinstance(field, ModelChoiceField) or name == form._meta.model._meta.pk.name:
            continue
        foreign = world.get(field.queryset.model)
        if foreign is None:
            continue
        leaked = field.queryset.filter(pk=foreign[1].pk).exists()
        probes.check(leaked, f"{where}: choices of {name} offer B's row")


def _check_forms(response, world, where: str, probes: Probes) -> None:
    context = response.context
    if "adminform" in context:
        _foreign_choices(context["adminform"].form, world, where, probes)
    for inline in context.get("inline_admin_formsets", []):
        for form in [*inline.formset.forms, inline.formset.empty_form]:
            _foreign_choices(form, world, f"{where} inline {inline.opts.model.__name__}", probes)


def _check_actions(client, model, model_admin, a_row, b_row, probes: Probes, monkeypatch):
    request = client.get(_url(model, "changelist")).wsgi_request
    received: dict[str, set] = {}

    def spying(name):
        def action(modeladmin, request, queryset):
            received[name] |= set(queryset.values_list("pk", flat=True))

        return action

    actions = model_admin.get_actions(request)
    spied = {
        name: (spying(name), name, description) for name, (_, _, description) in actions.items()
    }
    monkeypatch.setattr(model_admin, "get_actions", lambda request: spied)
    for name in spied:
        received[name] = set()
        for select_across in ("0", "1"):
            client.post(
                _url(model, "changelist"),
                {
                    "action": name,
                    "index": 0,
                    "select_across": select_across,
                    "_selected_action": [a_row.pk, b_row.pk],
                },
            )
        where = f"{model._meta.label} action {name}"
        probes.check(b_row.pk in received[name], f"{where} received B's row")
        assert a_row.pk in received[name], f"{where} never received A's row"
    monkeypatch.undo()


def _check_autocomplete(client, model, model_admin, a_row, b_row, probes, operator_request):
    if not model_admin.get_search_fields(operator_request):
        return
    for source, _ in _registered():
        for field in source._meta.get_fields():
            if not (field.is_relation and field.concrete and field.related_model is model):
                continue
            if field.many_to_many or not (field.many_to_one or field.one_to_one):
                continue
            answer = client.get(
                reverse("admin:autocomplete"),
                {
                    "app_label": source._meta.app_label,
                    "model_name": source._meta.model_name,
                    "field_name": field.name,
                    "term": "",
                },
            )
            if answer.status_code == 403:
                continue  # e.g. a remote field the source cannot autocomplete to
            ids = {result["id"] for result in answer.json()["results"]}
            where = f"autocomplete {source._meta.label}.{field.name}"
            probes.check(str(b_row.pk) in ids, f"{where} offers B's row")
            assert str(a_row.pk) in ids, f"{where} does not offer A's row"


def test_a_support_operator_sees_nothing_of_unassigned_organizations(
    client, operator, world, monkeypatch
):
    probes = Probes()
    for model, model_admin in _registered():
        label = model._meta.label
        if isinstance(model_admin, SuperusersOnlyMixin):
            probes.check(client.get(_url(model, "changelist")).status_code != 403, f"{label} list")
            continue
        if not isinstance(model_admin, TenantModelAdmin):
            continue  # open_to_support_operators: no tenant's data
        a_row, b_row = world[model]

        page = client.get(_url(model, "changelist"))
        assert page.status_code == 200, label
        shown = page.context["cl"].queryset
        probes.check(shown.filter(pk=b_row.pk).exists(), f"{label} list shows B's row")
        assert shown.filter(pk=a_row.pk).exists(), f"{label} list lacks A's row"
        for spec in page.context["cl"].filter_specs:
            for choice in spec.choices(page.context["cl"]):
                probes.check(
                    str(b_row) in str(choice.get("display", "")), f"{label} filter names B"
                )

        for view in ("change", "history", "delete"):
            answer = client.get(_url(model, view, b_row.pk))
            probes.check(answer.status_code not in (302, 403), f"{label} {view} page of B")
        own = client.get(_url(model, "change", a_row.pk))
        assert own.status_code == 200, f"{label} change page of A"
        _check_forms(own, world, f"{label} change", probes)
        if model_admin.has_add_permission(own.wsgi_request):
            _check_forms(client.get(_url(model, "add")), world, f"{label} add", probes)

        _check_autocomplete(client, model, model_admin, a_row, b_row, probes, own.wsgi_request)
        _check_actions(client, model, model_admin, a_row, b_row, probes, monkeypatch)

    leaked = len(probes.leaks)
    print(f"T2 support operator: foreign-tenant objects visible {leaked} of {probes.total}")
    assert probes.leaks == [], "\n".join(probes.leaks)


def test_support_operators_and_superusers_never_see_a_secret(
    client, operator, world, admin_user, staff_login
):
    pages = []
    for login in (operator, admin_user):
        staff_login(client, login)
        for model, (a_row, _) in world.items():
            pages.append(client.get(_url(model, "change", a_row.pk)).content.decode())
            pages.append(client.get(_url(model, "changelist")).content.decode())
    secrets = (*CANARIES, "canary-signing-secret-0042", *FIRS_CANARIES.values())
    in_clear = sum(secret in page for page in pages for secret in secrets)
    print(f"T2 secret fields rendered in clear: {in_clear} on {len(pages)} pages")
    assert in_clear == 0


def test_an_operator_without_assignments_sees_no_tenant(client, staff_login):
    InvoiceFactory()
    lonely = UserFactory(is_staff=True)
    lonely.user_permissions.set(Permission.objects.filter(codename="view_invoice"))
    staff_login(client, lonely)
    page = client.get(_url(Invoice, "changelist"))
    assert page.status_code == 200
    assert not page.context["cl"].queryset.exists()


def test_removing_an_assignment_takes_the_organization_away(client, operator):
    invoice = InvoiceFactory()
    assignment = OperatorAssignment.objects.create(
        operator=operator, organization=invoice.organization
    )
    assert client.get(_url(Invoice, "change", invoice.pk)).status_code == 200
    assignment.delete()
    assert client.get(_url(Invoice, "change", invoice.pk)).status_code == 302
