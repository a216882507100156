"""Tenant pages of the POS: its connections' settings and "Sync now" on the Integrations page,
the POS dashboard, the transactions and the live monitor. What the families' pages share (the
Integrations page, the other connection actions, a sync run's progress) is in
integrations.base.page_views, where the roles are told.

Every read starts from the organization (integrations.pos.page_selectors), so another
organization's object answers 404 exactly like a missing one.
"""

from datetime import timedelta
from uuid import UUID

from django import forms
from django.contrib import messages
from django.core.exceptions import BadRequest
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.views.decorators.http import require_POST

from accounts.views import tenant_page
from catalog import services as catalog_services
from integrations.base import page_views, pipeline
from integrations.base.connections import connection_settings_update
from integrations.pos import page_selectors
from integrations.pos.models import POSConnection, POSTransaction
from invoices.models import Invoice
from taxpoynt.help_texts import HELP_TEXTS
from taxpoynt.lib.csv_export import csv_filename, csv_filters_refused, csv_response

PAGE_SIZE = 50
# How far back "Sync now" pulls.
SYNC_NOW_WINDOW = timedelta(days=1)
# Each monitor poll asks again for changes this much older than its last poll: a row written just
# before that poll but committed after it is not missed. Rows sent twice replace themselves.
MONITOR_OVERLAP = timedelta(seconds=2)
# The feed shows this many rows at most.
MONITOR_ROWS = 100


# --- Forms --------------------------------------------------------------------------------------


class ConnectionSettingsForm(forms.ModelForm):
    """The connection's webhook settings and mapping defaults. The signing secret is write-only:
    never rendered back, and left as it is when the field is left empty."""

    notification_url = forms.URLField(
        label="Notification URL",
        required=False,
        max_length=500,
        assume_scheme="https",
        help_text="Exactly as configured at the platform: Square signs it (Toast does not).",
    )
    signing_secret = forms.CharField(
        label="Webhook signing secret",
        required=False,
        max_length=500,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        help_text=(
            "The signature key from the platform's webhook settings (Toast: the subscription's "
            "secret). Leave empty to keep it."
        ),
    )
    default_hs_code = forms.RegexField(
        r"^[0-9A-Za-z.\-]{0,20}$",
        label="Default HS code",
        required=False,
        help_text=(
            "Put on a line until its item is classified on Products & tax. " + HELP_TEXTS["hs_code"]
        ),
        error_messages={"invalid": "Use up to 20 letters, digits, dots and dashes."},
    )
    default_product_category = forms.CharField(
        label="Default product category", required=False, max_length=100
    )

    class Meta:
        model = POSConnection
        fields = ["notification_url"]

    def __init__(self, *args, instance: POSConnection, **kwargs):
        options = instance.connection_settings or {}
        initial = {
            "default_hs_code": options.get("default_hs_code", ""),
            "default_product_category": options.get("default_product_category", ""),
        }
        super().__init__(*args, instance=instance, initial=initial, **kwargs)

    def clean_default_hs_code(self):
        code = self.cleaned_data["default_hs_code"]
        return catalog_services.line_code_clean(code) if code else code

    def save(self, *, actor):
        changes = {
            "notification_url": self.cleaned_data["notification_url"],
            "connection_settings": {
                "default_hs_code": self.cleaned_data["default_hs_code"],
                "default_product_category": self.cleaned_data["default_product_category"],
            },
        }
        if self.cleaned_data["signing_secret"]:
            changes["webhook_secret"] = self.cleaned_data["signing_secret"]
        return connection_settings_update(connection=self.instance, changes=changes, actor=actor)


class TransactionFilterForm(page_views.RowFilterForm):
    family = "pos"

    q = forms.CharField(
        label="External id", required=False, max_length=255, help_text="The platform's order id"
    )
    status = forms.ChoiceField(
        choices=[("", "Any status"), *POSTransaction.Status.choices], required=False
    )
    location = forms.ChoiceField(required=False)
    # What the dashboard counts as failures: the sale failed, or its invoice needs attention.
    failed = page_views.either_filter(yes="Failed", no="Not failed")

    def __init__(self, *args, locations: list[tuple[str, str]], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["location"].choices = [("", "Any location"), *locations]


class MonitorForm(forms.Form):
    since = forms.DateTimeField(required=False)
    paused = forms.BooleanField(required=False)


# --- Connections (Integrations page) ------------------------------------------------------------


class POSConnectionPages(page_views.ConnectionPages):
    """POS connections' settings are edited on their card; "Sync now" back-fills the last day."""

    family = "pos"
    rows_name = "transactions"

    def sandbox_account_name(self, connection: POSConnection) -> str:
        return connection.location_name

    @method_decorator([tenant_page, require_POST])
    def settings(self, request, connection_id: UUID):
        page_views.require_manager(request)
        connection = self.connection_get(request, connection_id)
        form = page_views.card_settings_form(connection, data=request.POST)
        if not form.is_valid():
            return page_views.integrations_page(
                request, bound={(connection.pk, "settings"): form}, status=400
            )
        form.save(actor=request.user)
        messages.success(request, "The connection's settings were saved.")
        return page_views.back_to(connection)

    @method_decorator([tenant_page, require_POST])
    def sync(self, request, connection_id: UUID):
        page_views.require_operator(request, rows=self.rows_name)
        connection = self.connection_get(request, connection_id)
        now = timezone.now()
        run = pipeline.backfill_start(connection=connection, start=now - SYNC_NOW_WINDOW, end=now)
        return redirect("pos:sync_run", sync_run_id=run.pk)


connection_pages = POSConnectionPages()


# --- Dashboard ----------------------------------------------------------------------------------


dashboard = page_views.dashboard_view("pos/dashboard.html", page_selectors.dashboard)


# --- Transactions -------------------------------------------------------------------------------


@tenant_page
def transaction_list(request):
    organization = request.organization
    form = TransactionFilterForm(
        request.GET, locations=page_selectors.location_choices(organization=organization)
    )
    form.is_valid()  # filters by the valid fields; the form shows the others' errors
    return page_views.list_page(
        request,
        form,
        page_selectors.transactions_filtered(organization=organization, filters=form.cleaned_data),
        ordered_by="transaction_timestamp",
        size=PAGE_SIZE,
        name="transactions",
        templates=("pos/transaction_list.html", "pos/_transaction_results.html"),
    )


@tenant_page
def transaction_export(request):
    """The list's transactions (same filters, every page) as a CSV file, streamed."""
    organization = request.organization
    form = TransactionFilterForm(
        request.GET, locations=page_selectors.location_choices(organization=organization)
    )
    if not form.is_valid():
        return csv_filters_refused(form)
    filters = form.cleaned_data
    return csv_response(
        filename=csv_filename("transactions", filters.get("date_from"), filters.get("date_to")),
        header=page_selectors.TRANSACTION_EXPORT_HEADER,
        rows=page_selectors.transaction_export_rows(
            page_selectors.transactions_filtered(organization=organization, filters=filters)
        ),
    )


@tenant_page
def transaction_detail(request, transaction_id: UUID):
    row = _transaction_get(request, transaction_id)
    invoice = row.invoice
    return render(
        request,
        "pos/transaction_detail.html",
        {
            **page_views.row_context("transaction", row),
            "can_retry": request.membership.can_operate
            and (
                row.status == POSTransaction.Status.FAILED
                or (invoice is not None and invoice.status == Invoice.Status.NEEDS_ATTENTION)
            ),
        },
    )


@tenant_page
@require_POST
def transaction_retry(request, transaction_id: UUID):
    page_views.require_operator(request, rows="transactions")
    row = _transaction_get(request, transaction_id)
    if pipeline.source_retry(row=row, actor=request.user):
        messages.success(request, "Queued again; this page shows the outcome when it is done.")
    else:
        messages.info(request, "Nothing to retry: its invoice is on its way or done.")
    return redirect("pos:transaction", transaction_id=row.pk)


def _transaction_get(request, transaction_id: UUID) -> POSTransaction:
    return page_views.found_or_404(
        page_selectors.transaction_with_history,
        organization=request.organization,
        transaction_id=transaction_id,
    )


# --- Live monitor -------------------------------------------------------------------------------


@tenant_page
def monitor(request):
    """The live feed. Pausing and resuming (htmx) swap the controls only; pausing removes the
    poller, so nothing is fetched while paused."""
    form = MonitorForm(request.GET)
    form.is_valid()
    now = timezone.now()
    context = {
        "paused": form.cleaned_data.get("paused", False),
        "since": form.cleaned_data.get("since") or now,
    }
    if page_views.is_partial(request):
        return page_views.render_for_htmx(request, "pos/_monitor_controls.html", context)
    context["rows"] = page_views.with_platform_names(
        page_selectors.monitor_rows(organization=request.organization, now=now, limit=MONITOR_ROWS)
    )
    context["since"] = now
    context["row_limit"] = MONITOR_ROWS
    return page_views.render_for_htmx(request, "pos/monitor.html", context)


@tenant_page
def monitor_updates(request):
    """The rows that arrived or changed since the last poll, newest first, and the time the
    next poll asks from."""
    form = MonitorForm(request.GET)
    if not form.is_valid() or form.cleaned_data["since"] is None:
        raise BadRequest("A poll says since when.")
    now = timezone.now()
    rows = page_selectors.monitor_rows(
        organization=request.organization,
        now=now,
        changed_after=form.cleaned_data["since"] - MONITOR_OVERLAP,
        limit=MONITOR_ROWS,
    )
    return render(
        request,
        "pos/_monitor_updates.html",
        {"rows": page_views.with_platform_names(rows), "since": now},
    )
