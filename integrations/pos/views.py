"""Tenant pages of the integrations and POS: connecting platforms, the POS dashboard, the
transactions, the live monitor and back-fill progress. The Integrations page and the sync run
page serve every family with pages (integrations.crm.views acts on CRM connections).

Every read starts from the organization (integrations.pos.page_selectors), so another
organization's object answers 404 exactly like a missing one. Roles follow the API: owners and
admins manage connections (connect, disconnect, settings); everyone but viewers operates them
(test, sync, back-fill, retry); viewers read.
"""

from datetime import datetime, timedelta
from uuid import UUID

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import BadRequest, PermissionDenied
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_POST

from accounts.views import tenant_page
from integrations.base import connections as connection_services
from integrations.base import registry
from integrations.base.connectors import Capability, OAuthConnector
from integrations.base.errors import ConnectorError
from integrations.base.models import SyncRun
from integrations.pos import page_selectors, services
from integrations.pos.models import POSConnection, POSTransaction
from invoices.models import Invoice

PAGE_SIZE = 50
# How far back "Sync now" pulls.
SYNC_NOW_WINDOW = timedelta(days=1)
# Each monitor poll asks again for changes this much older than its last poll: a row written just
# before that poll but committed after it is not missed. Rows sent twice replace themselves.
MONITOR_OVERLAP = timedelta(seconds=2)
# The feed shows this many rows at most.
MONITOR_ROWS = 100
CHART_HEIGHT = 160
CHART_SLOT = 30
CHART_BAR = 11


# --- Forms --------------------------------------------------------------------------------------


class ConnectForm(forms.Form):
    method = forms.ChoiceField(
        choices=[
            ("oauth", "The platform's OAuth"),
            ("sandbox", "A fresh sandbox account"),
            ("sandbox_oauth", "OAuth against our sandbox of the platform"),
        ]
    )


class ConnectionSettingsForm(forms.ModelForm):
    """The connection's webhook settings and mapping defaults. The signing secret is write-only:
    never rendered back, and left as it is when the field is left empty."""

    notification_url = forms.URLField(
        label="Notification URL",
        required=False,
        max_length=500,
        assume_scheme="https",
        help_text="Exactly as configured at the platform: it is what Square signs.",
    )
    signing_secret = forms.CharField(
        label="Webhook signing secret",
        required=False,
        max_length=500,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        help_text="The signature key from the platform's webhook settings. Leave empty to keep it.",
    )
    default_hs_code = forms.RegexField(
        r"^[0-9A-Za-z.\-]{0,20}$",
        label="Default HS code",
        required=False,
        help_text="Put on every line: POS platforms carry no HS or service codes.",
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

    def save(self, commit=True):
        connection = super().save(commit=False)
        connection.connection_settings = {
            **(connection.connection_settings or {}),
            "default_hs_code": self.cleaned_data["default_hs_code"],
            "default_product_category": self.cleaned_data["default_product_category"],
        }
        if self.cleaned_data["signing_secret"]:
            connection.webhook_secret = self.cleaned_data["signing_secret"]
        if commit:
            # Only these: a worker may be recording the connection's health meanwhile.
            connection.save(
                update_fields=[
                    "notification_url",
                    "webhook_secret",
                    "connection_settings",
                    "updated_at",
                ]
            )
        return connection


class BackfillForm(forms.Form):
    # A date input takes ISO dates only; the locale's format would leave it empty.
    date_from = forms.DateField(
        label="From", widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    date_to = forms.DateField(
        label="To", widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )

    def clean(self):
        data = super().clean()
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and start > end:
            raise forms.ValidationError("The first day must not be after the last.")
        if start and start > timezone.localdate():
            self.add_error("date_from", "The back-fill cannot start in the future.")
        return data

    def window(self, *, now: datetime) -> tuple[datetime, datetime]:
        """From the first day's local midnight to the end of the last day, or now if sooner."""
        start = page_selectors.local_midnight(self.cleaned_data["date_from"])
        end = page_selectors.local_midnight(self.cleaned_data["date_to"] + timedelta(days=1))
        return start, min(end, now)


class TransactionFilterForm(forms.Form):
    q = forms.CharField(
        label="External id", required=False, max_length=255, help_text="The platform's order id"
    )
    status = forms.ChoiceField(
        choices=[("", "Any status"), *POSTransaction.Status.choices], required=False
    )
    platform = forms.ChoiceField(required=False)
    location = forms.ChoiceField(required=False)
    date_from = forms.DateField(
        label="From", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(
        label="To", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    # Keyset cursor: "<timestamp>|<id>" of the last row of the previous page.
    before = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, locations: list[tuple[str, str]], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["platform"].choices = [
            ("", "Any platform"),
            *((key, c.display_name) for key, c in sorted(registry.for_family("pos").items())),
        ]
        self.fields["location"].choices = [("", "Any location"), *locations]

    def clean_before(self) -> tuple[datetime, UUID] | None:
        value = self.cleaned_data["before"]
        if not value:
            return None
        try:
            timestamp, row_id = value.split("|")
            return datetime.fromisoformat(timestamp), UUID(row_id)
        except ValueError:
            raise forms.ValidationError("Not a page of this list.") from None


class MonitorForm(forms.Form):
    since = forms.DateTimeField(required=False)
    paused = forms.BooleanField(required=False)


# --- Integrations -------------------------------------------------------------------------------


@tenant_page
def integrations(request):
    return integrations_page(request)


@tenant_page
@require_POST
def connection_connect(request, platform: str):
    """Connect at once to a fresh sandbox account, or send the browser to the platform's (or
    our sandbox's) OAuth authorize page."""
    _require_manager(request)
    connector = _pos_connector(platform)
    form = ConnectForm(request.POST)
    if not form.is_valid() or form.cleaned_data["method"] not in connect_methods(connector):
        raise BadRequest("No such way to connect.")
    method = form.cleaned_data["method"]
    site_url = request.build_absolute_uri("/").rstrip("/")
    try:
        if method != "sandbox":
            return redirect(
                oauth_start_url(
                    request,
                    family="pos",
                    platform=platform,
                    site_url=site_url,
                    sandbox=method == "sandbox_oauth",
                )
            )
        connection = connection_services.connection_sandbox_create(
            family="pos",
            platform=platform,
            organization=request.organization,
            user=request.user,
            site_url=site_url,
        )
    except connection_services.ConnectError as error:
        messages.error(request, str(error))
        return redirect("pos:integrations")
    location = f" ({connection.location_name})" if connection.location_name else ""
    messages.success(request, f"Connected a {connector.display_name} sandbox account{location}.")
    return _back_to(connection)


def oauth_start_url(request, *, family: str, platform: str, site_url: str, sandbox: bool) -> str:
    """The authorize URL, with the one-time state bound to this browser session."""
    if request.session.session_key is None:
        request.session.save()
    return connection_services.oauth_start(
        family=family,
        platform=platform,
        organization=request.organization,
        user=request.user,
        session_key=request.session.session_key,
        redirect_uri=request.build_absolute_uri(
            reverse("oauth-callback", kwargs={"family": family, "platform": platform})
        ),
        sandbox_base_url=(
            connection_services.sandbox_base_url(site_url=site_url, platform=platform)
            if sandbox
            else ""
        ),
    )


@tenant_page
@require_POST
def connection_settings(request, connection_id: UUID):
    _require_manager(request)
    connection = _connection_get(request, connection_id)
    form = _settings_form(connection, data=request.POST)
    if not form.is_valid():
        return integrations_page(request, bound={(connection.pk, "settings"): form}, status=400)
    form.save()
    messages.success(request, "The connection's settings were saved.")
    return _back_to(connection)


@tenant_page
@require_POST
def connection_disconnect(request, connection_id: UUID):
    _require_manager(request)
    connection = _connection_get(request, connection_id)
    connection_services.connection_disconnect(connection=connection)
    connection.refresh_from_db()
    if connection.last_error:  # revoking at the platform failed; we forgot the tokens anyway
        messages.warning(request, f"Disconnected. {connection.last_error}")
    else:
        messages.success(request, f"Disconnected {connection}.")
    return redirect("pos:integrations")


@tenant_page
@require_POST
def connection_test(request, connection_id: UUID):
    _require_operator(request)
    connection = _connection_get(request, connection_id)
    try:
        services.connection_test(connection=connection)
    except ConnectorError as error:
        messages.error(request, f"The test failed; the platform answered: {error}")
    else:
        messages.success(request, "The connection works.")
    return _back_to(connection)


@tenant_page
@require_POST
def connection_sync(request, connection_id: UUID):
    """Sync now: back-fill the last day."""
    _require_operator(request)
    connection = _connection_get(request, connection_id)
    now = timezone.now()
    run = services.backfill_start(connection=connection, start=now - SYNC_NOW_WINDOW, end=now)
    return redirect("pos:sync_run", sync_run_id=run.pk)


@tenant_page
@require_POST
def connection_backfill(request, connection_id: UUID):
    _require_operator(request)
    connection = _connection_get(request, connection_id)
    form = _backfill_form(connection, data=request.POST)
    if not form.is_valid():
        return integrations_page(request, bound={(connection.pk, "backfill"): form}, status=400)
    start, end = form.window(now=timezone.now())
    run = services.backfill_start(connection=connection, start=start, end=end)
    return redirect("pos:sync_run", sync_run_id=run.pk)


@tenant_page
def sync_run_detail(request, sync_run_id: UUID):
    """A back-fill's progress; htmx polls this page for the progress part until the run ends."""
    try:
        run = page_selectors.sync_run_get(
            organization=request.organization, sync_run_id=sync_run_id
        )
    except SyncRun.DoesNotExist as exc:
        raise Http404 from exc
    return sync_run_page(request, run)


def sync_run_page(request, run: SyncRun):
    """The progress page of a run of any family with pages, or (htmx) its progress part."""
    pages = page_selectors.FAMILY_PAGES[run.family]
    context = {
        "run": run,
        "finished": run.status in (SyncRun.Status.SUCCEEDED, SyncRun.Status.FAILED),
        "platform_name": platform_name(run.platform),
        "rows_noun": pages.rows_noun,
        "rows_url": reverse(pages.rows_url_name),
    }
    template = "pos/_sync_run_progress.html" if is_partial(request) else "pos/sync_run.html"
    response = render(request, template, context)
    patch_vary_headers(response, ("HX-Request",))
    return response


def integrations_page(request, *, bound: dict | None = None, status: int = 200):
    """The page, with the bound forms (keyed by (connection id, "settings" or "backfill")) of a
    submission that did not validate in place of fresh ones. POS connections' settings are
    edited on their card; other families' have a page of their own."""
    bound = bound or {}
    families = page_selectors.integration_families(organization=request.organization)
    for family in families:
        for platform in family.platforms:
            for connection in platform.connections:
                if isinstance(connection, POSConnection):
                    settings_form = bound.get((connection.pk, "settings"))
                    connection.settings_form = settings_form or _settings_form(connection)
                backfill_form = bound.get((connection.pk, "backfill"))
                connection.backfill_form = backfill_form or _backfill_form(connection)
    return render(
        request,
        "integrations/integrations.html",
        {"families": families, "sandbox_enabled": settings.SANDBOX_ENABLED},
        status=status,
    )


def _settings_form(connection: POSConnection, data=None) -> ConnectionSettingsForm:
    return ConnectionSettingsForm(data, instance=connection, auto_id=f"settings-{connection.pk}-%s")


def _backfill_form(connection, data=None) -> BackfillForm:
    today = timezone.localdate()
    return BackfillForm(
        data,
        auto_id=f"backfill-{connection.pk}-%s",
        initial={"date_from": today - timedelta(days=7), "date_to": today},
    )


def connect_methods(connector) -> set[str]:
    by_oauth = issubclass(connector, OAuthConnector)
    sandbox = settings.SANDBOX_ENABLED and Capability.SANDBOX in connector.capabilities
    return (
        ({"oauth"} if by_oauth else set())
        | ({"sandbox"} if sandbox else set())
        | ({"sandbox_oauth"} if sandbox and by_oauth else set())
    )


def _pos_connector(platform: str):
    connector = registry.for_family("pos").get(platform)
    if connector is None:
        raise Http404(f"No POS platform {platform!r}.")
    return connector


def _connection_get(request, connection_id: UUID) -> POSConnection:
    try:
        return page_selectors.connection_get(
            organization=request.organization, connection_id=connection_id
        )
    except POSConnection.DoesNotExist as exc:
        raise Http404 from exc


def _back_to(connection: POSConnection):
    return redirect(f"{reverse('pos:integrations')}#connection-{connection.pk}")


# --- Dashboard ----------------------------------------------------------------------------------


@tenant_page
def dashboard(request):
    now = timezone.now()
    organization = request.organization
    return render(
        request,
        "pos/dashboard.html",
        {
            "summaries": page_selectors.sales_summaries(organization=organization, now=now),
            "latencies": page_selectors.signing_latencies(organization=organization, now=now),
            "latency_target": page_selectors.LATENCY_TARGET,
            "chart": _sales_chart(page_selectors.sales_by_hour(organization=organization, now=now)),
        },
    )


def _sales_chart(hours: list[page_selectors.HourOfSales]) -> dict:
    """Bar geometry of the hourly chart: a sales bar and a signed-invoices bar per hour."""
    peak = max([1, *(hour.sales for hour in hours), *(hour.signed for hour in hours)])
    bars = []
    for index, hour in enumerate(hours):
        sales_height = round(hour.sales / peak * CHART_HEIGHT)
        signed_height = round(hour.signed / peak * CHART_HEIGHT)
        left = index * CHART_SLOT + 3
        bars.append(
            {
                "hour": hour.hour,
                "sales": hour.sales,
                "signed": hour.signed,
                "sales_x": left,
                "sales_y": CHART_HEIGHT - sales_height,
                "sales_height": sales_height,
                "signed_x": left + CHART_BAR + 2,
                "signed_y": CHART_HEIGHT - signed_height,
                "signed_height": signed_height,
                "label_x": left + CHART_BAR + 1,
                "labelled": index % 3 == 0,
            }
        )
    return {
        "bars": bars,
        "peak": peak,
        "width": CHART_SLOT * len(hours),
        "height": CHART_HEIGHT,
        "bar_width": CHART_BAR,
    }


# --- Transactions -------------------------------------------------------------------------------


@tenant_page
def transaction_list(request):
    form = TransactionFilterForm(
        request.GET,
        locations=page_selectors.location_choices(organization=request.organization),
    )
    form.is_valid()  # filters by the valid fields; the form shows the others' errors
    filters = form.cleaned_data
    rows, next_before = page_selectors.transaction_page(
        page_selectors.transactions_filtered(organization=request.organization, filters=filters),
        before=filters.get("before"),
        size=PAGE_SIZE,
    )
    context = {
        "form": form,
        "transactions": _with_platform_names(rows),
        **page_queries(request.GET, next_before),
    }
    # htmx filtering swaps the results only; a history restore needs the whole page.
    if is_partial(request):
        response = render(request, "pos/_transaction_results.html", context)
    else:
        response = render(request, "pos/transaction_list.html", context)
    patch_vary_headers(response, ("HX-Request",))
    return response


@tenant_page
def transaction_detail(request, transaction_id: UUID):
    row = _transaction_get(request, transaction_id)
    invoice = row.invoice
    return render(
        request,
        "pos/transaction_detail.html",
        {
            "transaction": _with_platform_names([row])[0],
            "invoice": invoice,
            "errors": processing_errors(row.processing_errors),
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
    _require_operator(request)
    row = _transaction_get(request, transaction_id)
    if services.transaction_retry(transaction_row=row):
        messages.success(request, "Queued again; this page shows the outcome when it is done.")
    else:
        messages.info(request, "Nothing to retry: its invoice is on its way or done.")
    return redirect("pos:transaction", transaction_id=row.pk)


def _transaction_get(request, transaction_id: UUID) -> POSTransaction:
    try:
        return page_selectors.transaction_with_history(
            organization=request.organization, transaction_id=transaction_id
        )
    except POSTransaction.DoesNotExist as exc:
        raise Http404 from exc


def processing_errors(errors: dict | None) -> list[str]:
    """The stored errors as sentences: a failure message, or the invoice's problems."""
    if not errors:
        return []
    sentences = [errors["error_message"]] if errors.get("error_message") else []
    for problem in errors.get("problems", []):
        path = problem.get("path")
        sentences.append(f"{path}: {problem['message']}" if path else problem["message"])
    return sentences


def page_queries(query, next_before: tuple[datetime, UUID] | None) -> dict:
    """Query strings of the first and the next page, keeping the filters; None where there is
    no such page to go to."""
    first, following = query.copy(), query.copy()
    first.pop("before", None)
    if next_before is not None:
        timestamp, row_id = next_before
        following["before"] = f"{timestamp.isoformat()}|{row_id}"
    return {
        "first_page_query": first.urlencode() if "before" in query else None,
        "next_page_query": following.urlencode() if next_before is not None else None,
    }


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
    if is_partial(request):
        response = render(request, "pos/_monitor_controls.html", context)
    else:
        context["rows"] = _with_platform_names(
            page_selectors.monitor_rows(
                organization=request.organization, now=now, limit=MONITOR_ROWS
            )
        )
        context["since"] = now
        context["row_limit"] = MONITOR_ROWS
        response = render(request, "pos/monitor.html", context)
    patch_vary_headers(response, ("HX-Request",))
    return response


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
        request, "pos/_monitor_updates.html", {"rows": _with_platform_names(rows), "since": now}
    )


# --- Shared -------------------------------------------------------------------------------------


def _require_manager(request) -> None:
    if not request.membership.can_manage:
        raise PermissionDenied("Only owners and admins manage connections.")


def _require_operator(request) -> None:
    if not request.membership.can_operate:
        raise PermissionDenied("Viewers cannot act on connections or transactions.")


def is_partial(request) -> bool:
    return bool(request.htmx) and not request.htmx.history_restore_request


def platform_name(key: str) -> str:
    try:
        return registry.get(key).display_name
    except KeyError:  # a platform since removed from the registry
        return key


def _with_platform_names(rows: list[POSTransaction]) -> list[POSTransaction]:
    for row in rows:
        row.platform_name = platform_name(row.connection.pos_type)
    return rows
