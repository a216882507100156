"""Tenant pages of the CRM: its connections' settings page and "Sync now", the CRM dashboard and
the deals. What the families' pages share (the Integrations page, the other connection actions,
a sync run's progress) is in integrations.base.page_views, where the roles are told.

Every read starts from the organization (integrations.crm.page_selectors), so another
organization's object answers 404 exactly like a missing one.
"""

from uuid import UUID

from django import forms
from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils.decorators import method_decorator
from django.views.decorators.http import require_http_methods, require_POST

from accounts.views import tenant_page
from integrations.base import page_views, pipeline
from integrations.base.connections import connection_settings_update
from integrations.base.errors import ConnectorError
from integrations.crm import page_selectors, services
from integrations.crm.connectors import PipelineStage
from integrations.crm.models import CRMConnection, CRMDeal
from invoices.models import Invoice
from taxpoynt.lib.csv_export import csv_filename, csv_filters_refused, csv_response

PAGE_SIZE = 50


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

    def save(self, *, actor):
        changes = {name: self.cleaned_data[name] for name in self.Meta.fields}
        return connection_settings_update(connection=self.instance, changes=changes, actor=actor)


class DealFilterForm(page_views.RowFilterForm):
    family = "crm"

    q = forms.CharField(
        label="Search", required=False, max_length=255, help_text="Deal id or words of its title"
    )
    status = forms.ChoiceField(
        choices=[("", "Any status"), *CRMDeal.Status.choices], required=False
    )
    won = page_views.either_filter(yes="Won", no="Not won")
    invoiced = page_views.either_filter(yes="Invoiced", no="Not invoiced")
    failed = page_views.either_filter(yes="Failed", no="Not failed")
    stage = forms.CharField(
        required=False, max_length=100, help_text="The platform's stage id, as closedwon"
    )


# --- Connections (Integrations page) ------------------------------------------------------------


class CRMConnectionPages(page_views.ConnectionPages):
    """CRM connections' settings have a page of their own (the won stages are chosen among the
    platform's pipelines); "Sync now" pulls the deals changed since the last sync."""

    family = "crm"
    rows_name = "deals"

    def disconnected_name(self, connection: CRMConnection) -> str:
        return page_views.platform_name(connection.platform)

    @method_decorator([tenant_page, require_POST])
    def sync(self, request, connection_id: UUID):
        page_views.require_operator(request, rows=self.rows_name)
        connection = self.connection_get(request, connection_id)
        pipeline.connection_sync_start(connection=connection)
        messages.success(request, "A sync was queued; the deals it finds appear under Deals.")
        return page_views.back_to(connection)

    @method_decorator([tenant_page, require_http_methods(["GET", "POST"])])
    def settings(self, request, connection_id: UUID):
        """The won stages are chosen among the stages the platform has now, so the page asks it
        for its pipelines first; without them there is nothing to choose from."""
        page_views.require_manager(request)
        connection = self.connection_get(request, connection_id)
        context = {
            "connection": connection,
            "platform_name": page_views.platform_name(connection.platform),
        }
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
            form.save(actor=request.user)
            messages.success(request, "The connection's settings were saved.")
            return redirect("crm:connection_settings", connection_id=connection.pk)
        context["form"] = form
        return render(
            request, "crm/connection_settings.html", context, status=400 if form.is_bound else 200
        )


connection_pages = CRMConnectionPages()


# --- Dashboard ----------------------------------------------------------------------------------


dashboard = page_views.dashboard_view("crm/dashboard.html", page_selectors.dashboard)


# --- Deals --------------------------------------------------------------------------------------


@tenant_page
def deal_list(request):
    form = DealFilterForm(request.GET)
    form.is_valid()  # filters by the valid fields; the form shows the others' errors
    return page_views.list_page(
        request,
        form,
        page_selectors.deals_filtered(organization=request.organization, filters=form.cleaned_data),
        ordered_by="received_at",
        size=PAGE_SIZE,
        name="deals",
        templates=("crm/deal_list.html", "crm/_deal_results.html"),
    )


@tenant_page
def deal_export(request):
    """The list's deals (same filters, every page) as a CSV file, streamed."""
    form = DealFilterForm(request.GET)
    if not form.is_valid():
        return csv_filters_refused(form)
    filters = form.cleaned_data
    return csv_response(
        filename=csv_filename("deals", filters.get("date_from"), filters.get("date_to")),
        header=page_selectors.DEAL_EXPORT_HEADER,
        rows=page_selectors.deal_export_rows(
            page_selectors.deals_filtered(organization=request.organization, filters=filters)
        ),
    )


@tenant_page
def deal_detail(request, deal_id: UUID):
    row = _deal_get(request, deal_id)
    invoice = row.invoice
    needs_attention = invoice is not None and invoice.status == Invoice.Status.NEEDS_ATTENTION
    return render(
        request,
        "crm/deal_detail.html",
        {
            **page_views.row_context("deal", row),
            "won_to_signed": row.signed_at - row.received_at if row.signed_at else None,
            # What source_retry can do: invoice a won deal without one, or re-drive its invoice.
            "can_generate": request.membership.can_operate and row.is_won and invoice is None,
            "can_retry": request.membership.can_operate and needs_attention,
        },
    )


@tenant_page
@require_POST
def deal_retry(request, deal_id: UUID):
    page_views.require_operator(request, rows="deals")
    row = _deal_get(request, deal_id)
    if pipeline.source_retry(row=row, actor=request.user):
        messages.success(request, "Queued; this page shows the outcome when it is done.")
    else:
        messages.info(request, "Nothing to do: not won, or its invoice is on its way or done.")
    return redirect("crm:deal", deal_id=row.pk)


def _deal_get(request, deal_id: UUID) -> CRMDeal:
    return page_views.found_or_404(
        page_selectors.deal_with_history, organization=request.organization, deal_id=deal_id
    )
