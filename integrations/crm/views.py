"""Tenant pages of the CRM: its connections' actions on the Integrations page, the CRM dashboard,
the deals, and a connection's settings (won stages, TIN property, sync schedule).

Every read starts from the organization (integrations.crm.page_selectors), so another
organization's object answers 404 exactly like a missing one. Roles follow the API: owners and
admins manage connections (connect, disconnect, settings); everyone but viewers operates them
(test, sync, back-fill, retry); viewers read. The Integrations page and the sync run page are
shared with the POS (integrations.pos.views).
"""

from datetime import datetime
from uuid import UUID

from django import forms
from django.contrib import messages
from django.core.exceptions import BadRequest, PermissionDenied
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_http_methods, require_POST

from accounts.views import tenant_page
from integrations.base import connections as connection_services
from integrations.base import registry
from integrations.base.errors import ConnectorError
from integrations.base.models import SyncRun
from integrations.crm import page_selectors, services
from integrations.crm.connectors import PipelineStage
from integrations.crm.models import CRMConnection, CRMDeal
from integrations.pos import views as shared
from invoices.models import Invoice

PAGE_SIZE = 50
CHART_HEIGHT = 160
CHART_SLOT = 30
CHART_BAR = 11


# --- Forms --------------------------------------------------------------------------------------


class ConnectionSettingsForm(forms.ModelForm):
    """Which stages mean won (chosen among the stages of the pipelines the connection
    invoices), where the buyer's TIN is kept, and how often to sync. ``pipelines`` lists
    (pipeline label, its stages) for the page's fieldsets."""

    won_stage_ids = forms.MultipleChoiceField(
        label="Stages that mean won",
        help_text="A deal moved to one of these is invoiced.",
        error_messages={"required": "Choose at least one stage that means won."},
    )
    tin_property = forms.RegexField(
        r"^[a-z][a-z0-9_]{0,99}$",
        label="Company TIN property",
        help_text="The internal name of the company property that holds the buyer's TIN.",
        error_messages={
            "invalid": "Use a property's internal name: lower-case letters, digits and "
            "underscores, starting with a letter."
        },
    )
    sync_every_minutes = forms.IntegerField(
        label="Sync every (minutes)",
        min_value=0,
        max_value=1440,
        help_text="Pulls the won deals webhooks may have missed. 0 turns the schedule off.",
    )

    class Meta:
        model = CRMConnection
        fields = ["won_stage_ids", "tin_property", "sync_every_minutes"]

    def __init__(self, *args, instance: CRMConnection, stages: list[PipelineStage], **kwargs):
        super().__init__(*args, instance=instance, **kwargs)
        in_scope = [
            stage
            for stage in stages
            if not instance.pipeline_ids or stage.pipeline_id in instance.pipeline_ids
        ]
        # Any other stage is refused: a choice must be a stage of these pipelines.
        self.fields["won_stage_ids"].choices = [(s.stage_id, s.label) for s in in_scope]
        # Until chosen, the platform's own closed-won stages are the ones used.
        self.initial["won_stage_ids"] = instance.won_stage_ids or [
            stage.stage_id for stage in in_scope if stage.is_won
        ]
        pipelines: dict[str, tuple[str, list[PipelineStage]]] = {}
        for stage in in_scope:
            pipelines.setdefault(stage.pipeline_id, (stage.pipeline_label, []))[1].append(stage)
        self.pipelines = list(pipelines.values())

    def save(self, commit=True):
        connection = super().save(commit=False)
        if commit:
            # Only these: a worker may be recording the connection's health or cursor meanwhile.
            connection.save(update_fields=[*self.Meta.fields, "updated_at"])
        return connection


class DealFilterForm(forms.Form):
    q = forms.CharField(
        label="Search", required=False, max_length=255, help_text="Deal id or words of its title"
    )
    status = forms.ChoiceField(
        choices=[("", "Any status"), *CRMDeal.Status.choices], required=False
    )
    won = forms.NullBooleanField(
        widget=forms.Select(choices=[("", "Any"), ("true", "Won"), ("false", "Not won")])
    )
    invoiced = forms.NullBooleanField(
        widget=forms.Select(choices=[("", "Any"), ("true", "Invoiced"), ("false", "Not invoiced")])
    )
    failed = forms.NullBooleanField(
        widget=forms.Select(choices=[("", "Any"), ("true", "Failed"), ("false", "Not failed")])
    )
    stage = forms.CharField(
        required=False, max_length=100, help_text="The platform's stage id, as closedwon"
    )
    platform = forms.ChoiceField(required=False)
    date_from = forms.DateField(
        label="From", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(
        label="To", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    # Keyset cursor: "<received_at>|<id>" of the last row of the previous page.
    before = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["platform"].choices = [
            ("", "Any platform"),
            *((key, c.display_name) for key, c in sorted(registry.for_family("crm").items())),
        ]

    def clean_before(self) -> tuple[datetime, UUID] | None:
        value = self.cleaned_data["before"]
        if not value:
            return None
        try:
            timestamp, row_id = value.split("|")
            return datetime.fromisoformat(timestamp), UUID(row_id)
        except ValueError:
            raise forms.ValidationError("Not a page of this list.") from None


# --- Connections (Integrations page) ------------------------------------------------------------


@tenant_page
@require_POST
def connection_connect(request, platform: str):
    """Connect at once to a fresh sandbox account, or send the browser to the platform's (or
    our sandbox's) OAuth authorize page."""
    _require_manager(request)
    connector = registry.for_family("crm").get(platform)
    if connector is None:
        raise Http404(f"No CRM platform {platform!r}.")
    form = shared.ConnectForm(request.POST)
    if not form.is_valid() or form.cleaned_data["method"] not in shared.connect_methods(connector):
        raise BadRequest("No such way to connect.")
    method = form.cleaned_data["method"]
    site_url = request.build_absolute_uri("/").rstrip("/")
    try:
        if method != "sandbox":
            return redirect(
                shared.oauth_start_url(
                    request,
                    family="crm",
                    platform=platform,
                    site_url=site_url,
                    sandbox=method == "sandbox_oauth",
                )
            )
        connection = services.connection_sandbox_create(
            platform=platform,
            organization=request.organization,
            user=request.user,
            site_url=site_url,
        )
    except connection_services.ConnectError as error:
        messages.error(request, str(error))
        return redirect("pos:integrations")
    messages.success(
        request, f"Connected a {connector.display_name} sandbox account ({connection.account_id})."
    )
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
        messages.success(request, f"Disconnected {shared.platform_name(connection.crm_type)}.")
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
    """Sync now: pull the deals changed since the last sync, whatever the schedule."""
    _require_operator(request)
    connection = _connection_get(request, connection_id)
    services.connection_sync_start(connection=connection)
    messages.success(request, "A sync was queued; the deals it finds appear under Deals.")
    return _back_to(connection)


@tenant_page
@require_POST
def connection_backfill(request, connection_id: UUID):
    _require_operator(request)
    connection = _connection_get(request, connection_id)
    form = shared.BackfillForm(request.POST, auto_id=f"backfill-{connection.pk}-%s")
    if not form.is_valid():
        return shared.integrations_page(
            request, bound={(connection.pk, "backfill"): form}, status=400
        )
    start, end = form.window(now=timezone.now())
    run = services.backfill_start(connection=connection, start=start, end=end)
    return redirect("crm:sync_run", sync_run_id=run.pk)


@tenant_page
def sync_run_detail(request, sync_run_id: UUID):
    try:
        run = page_selectors.sync_run_get(
            organization=request.organization, sync_run_id=sync_run_id
        )
    except SyncRun.DoesNotExist as exc:
        raise Http404 from exc
    return shared.sync_run_page(request, run)


@tenant_page
@require_http_methods(["GET", "POST"])
def connection_settings(request, connection_id: UUID):
    """The won stages are chosen among the stages the platform has now, so the page asks it for
    its pipelines first; without them there is nothing to choose from."""
    _require_manager(request)
    connection = _connection_get(request, connection_id)
    context = {"connection": connection, "platform_name": shared.platform_name(connection.crm_type)}
    try:
        stages = services.connection_pipelines(connection=connection)
    except ConnectorError as error:
        context["error"] = str(error)
        return render(request, "crm/connection_settings.html", context, status=502)
    form = ConnectionSettingsForm(
        request.POST if request.method == "POST" else None,
        instance=connection,
        stages=stages,
        auto_id="settings-%s",
    )
    if form.is_bound and form.is_valid():
        form.save()
        messages.success(request, "The connection's settings were saved.")
        return redirect("crm:connection_settings", connection_id=connection.pk)
    context["form"] = form
    return render(
        request, "crm/connection_settings.html", context, status=400 if form.is_bound else 200
    )


def _connection_get(request, connection_id: UUID) -> CRMConnection:
    try:
        return page_selectors.connection_get(
            organization=request.organization, connection_id=connection_id
        )
    except CRMConnection.DoesNotExist as exc:
        raise Http404 from exc


def _back_to(connection: CRMConnection):
    return redirect(f"{reverse('pos:integrations')}#connection-{connection.pk}")


# --- Dashboard ----------------------------------------------------------------------------------


@tenant_page
def dashboard(request):
    now = timezone.now()
    organization = request.organization
    return render(
        request,
        "crm/dashboard.html",
        {
            "summaries": page_selectors.deal_summaries(organization=organization, now=now),
            "latencies": page_selectors.signing_latencies(organization=organization, now=now),
            "latency_target": page_selectors.LATENCY_TARGET,
            "chart": _deals_chart(page_selectors.deals_by_hour(organization=organization, now=now)),
        },
    )


def _deals_chart(hours: list[page_selectors.HourOfDeals]) -> dict:
    """Bar geometry of the hourly chart: a won-deals bar and a signed-invoices bar per hour."""
    peak = max([1, *(hour.won for hour in hours), *(hour.signed for hour in hours)])
    bars = []
    for index, hour in enumerate(hours):
        won_height = round(hour.won / peak * CHART_HEIGHT)
        signed_height = round(hour.signed / peak * CHART_HEIGHT)
        left = index * CHART_SLOT + 3
        bars.append(
            {
                "hour": hour.hour,
                "won": hour.won,
                "signed": hour.signed,
                "won_x": left,
                "won_y": CHART_HEIGHT - won_height,
                "won_height": won_height,
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


# --- Deals --------------------------------------------------------------------------------------


@tenant_page
def deal_list(request):
    form = DealFilterForm(request.GET)
    form.is_valid()  # filters by the valid fields; the form shows the others' errors
    filters = form.cleaned_data
    rows, next_before = page_selectors.deal_page(
        page_selectors.deals_filtered(organization=request.organization, filters=filters),
        before=filters.get("before"),
        size=PAGE_SIZE,
    )
    context = {
        "form": form,
        "deals": _with_platform_names(rows),
        **shared.page_queries(request.GET, next_before),
    }
    # htmx filtering swaps the results only; a history restore needs the whole page.
    template = "crm/_deal_results.html" if shared.is_partial(request) else "crm/deal_list.html"
    response = render(request, template, context)
    patch_vary_headers(response, ("HX-Request",))
    return response


@tenant_page
def deal_detail(request, deal_id: UUID):
    row = _deal_get(request, deal_id)
    invoice = row.invoice
    needs_attention = invoice is not None and invoice.status == Invoice.Status.NEEDS_ATTENTION
    return render(
        request,
        "crm/deal_detail.html",
        {
            "deal": _with_platform_names([row])[0],
            "invoice": invoice,
            "errors": shared.processing_errors(row.processing_errors),
            "won_to_signed": row.signed_at - row.received_at if row.signed_at else None,
            # What deal_retry can do: invoice a won deal without one, or re-drive its invoice.
            "can_generate": request.membership.can_operate and row.is_won and invoice is None,
            "can_retry": request.membership.can_operate and needs_attention,
        },
    )


@tenant_page
@require_POST
def deal_retry(request, deal_id: UUID):
    _require_operator(request)
    row = _deal_get(request, deal_id)
    if services.deal_retry(deal_row=row):
        messages.success(request, "Queued; this page shows the outcome when it is done.")
    else:
        messages.info(request, "Nothing to do: not won, or its invoice is on its way or done.")
    return redirect("crm:deal", deal_id=row.pk)


def _deal_get(request, deal_id: UUID) -> CRMDeal:
    try:
        return page_selectors.deal_with_history(organization=request.organization, deal_id=deal_id)
    except CRMDeal.DoesNotExist as exc:
        raise Http404 from exc


def _with_platform_names(rows: list[CRMDeal]) -> list[CRMDeal]:
    for row in rows:
        row.platform_name = shared.platform_name(row.connection.crm_type)
    return rows


# --- Shared -------------------------------------------------------------------------------------


def _require_manager(request) -> None:
    if not request.membership.can_manage:
        raise PermissionDenied("Only owners and admins manage connections.")


def _require_operator(request) -> None:
    if not request.membership.can_operate:
        raise PermissionDenied("Viewers cannot act on connections or deals.")
