"""Tenant pages of the ERP: "Sync now" on its connections, the ERP dashboard and the documents.
What the families' pages share (the Integrations page, the other connection actions, a sync
run's progress) is in integrations.base.page_views, where the roles are told.

Every read starts from the organization (integrations.erp.page_selectors), so another
organization's object answers 404 exactly like a missing one.
"""

from uuid import UUID

from django import forms
from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils.decorators import method_decorator
from django.views.decorators.http import require_POST

from accounts.views import tenant_page
from integrations.base import page_views, pipeline
from integrations.base.connections import connection_settings_update
from integrations.erp import page_selectors
from integrations.erp.models import ERPConnection, ERPDocument
from invoices.models import Invoice
from taxpoynt.help_texts import HELP_TEXTS

PAGE_SIZE = 50


class ConnectionSettingsForm(forms.ModelForm):
    """What an ERP connection's lines are described by until their items are classified."""

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
        model = ERPConnection
        fields = []

    def __init__(self, *args, instance: ERPConnection, **kwargs):
        options = instance.connection_settings or {}
        initial = {
            "default_hs_code": options.get("default_hs_code", ""),
            "default_product_category": options.get("default_product_category", ""),
        }
        super().__init__(*args, instance=instance, initial=initial, **kwargs)

    def save(self):
        options = {
            "default_hs_code": self.cleaned_data["default_hs_code"],
            "default_product_category": self.cleaned_data["default_product_category"],
        }
        return connection_settings_update(
            connection=self.instance, changes={"connection_settings": options}
        )


class DocumentFilterForm(page_views.RowFilterForm):
    family = "erp"

    q = forms.CharField(
        label="Search", required=False, max_length=255, help_text="Document id or number"
    )
    status = forms.ChoiceField(
        choices=[("", "Any status"), *ERPDocument.Status.choices], required=False
    )
    kind = forms.ChoiceField(choices=[("", "Any kind"), *ERPDocument.Kind.choices], required=False)
    invoiced = page_views.either_filter(yes="Invoiced", no="Not invoiced")
    failed = page_views.either_filter(yes="Failed", no="Not failed")


class ERPConnectionPages(page_views.ConnectionPages):
    """ERP connections pull their changes on a schedule; "Sync now" pulls them at once."""

    family = "erp"
    rows_name = "documents"

    @method_decorator([tenant_page, require_POST])
    def settings(self, request, connection_id: UUID):
        page_views.require_manager(request)
        connection = self.connection_get(request, connection_id)
        form = page_views.card_settings_form(connection, data=request.POST)
        if not form.is_valid():
            return page_views.integrations_page(
                request, bound={(connection.pk, "settings"): form}, status=400
            )
        form.save()
        messages.success(request, "The connection's settings were saved.")
        return page_views.back_to(connection)

    @method_decorator([tenant_page, require_POST])
    def sync(self, request, connection_id: UUID):
        page_views.require_operator(request, rows=self.rows_name)
        connection = self.connection_get(request, connection_id)
        pipeline.connection_sync_start(connection=connection)
        messages.success(
            request, "A sync was queued; the documents it finds appear under Documents."
        )
        return page_views.back_to(connection)


connection_pages = ERPConnectionPages()

dashboard = page_views.dashboard_view("erp/dashboard.html", page_selectors.dashboard)


@tenant_page
def document_list(request):
    form = DocumentFilterForm(request.GET)
    form.is_valid()  # filters by the valid fields; the form shows the others' errors
    return page_views.list_page(
        request,
        form,
        page_selectors.documents_filtered(
            organization=request.organization, filters=form.cleaned_data
        ),
        ordered_by="received_at",
        size=PAGE_SIZE,
        name="documents",
        templates=("erp/document_list.html", "erp/_document_results.html"),
    )


@tenant_page
def document_detail(request, document_id: UUID):
    row = _document_get(request, document_id)
    invoice = row.invoice
    needs_attention = invoice is not None and invoice.status == Invoice.Status.NEEDS_ATTENTION
    return render(
        request,
        "erp/document_detail.html",
        {
            **page_views.row_context("document", row),
            "posted_to_signed": row.signed_at - row.received_at if row.signed_at else None,
            # What source_retry can do: invoice a posted document without one, or re-drive its
            # invoice.
            "can_generate": request.membership.can_operate and row.is_posted and invoice is None,
            "can_retry": request.membership.can_operate and needs_attention,
        },
    )


@tenant_page
@require_POST
def document_retry(request, document_id: UUID):
    page_views.require_operator(request, rows="documents")
    row = _document_get(request, document_id)
    if pipeline.source_retry(row=row, actor=request.user):
        messages.success(request, "Queued; this page shows the outcome when it is done.")
    else:
        messages.info(request, "Nothing to do: not posted, or its invoice is on its way or done.")
    return redirect("erp:document", document_id=row.pk)


def _document_get(request, document_id: UUID) -> ERPDocument:
    return page_views.found_or_404(
        page_selectors.document_with_history,
        organization=request.organization,
        document_id=document_id,
    )
