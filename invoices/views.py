"""Tenant pages of invoices: the dashboard, the invoice list, an invoice with its actions, and
the failures inbox (every failure of the organization, with what to do and a Retry).

Every read starts from ``selectors.invoice_list(organization=request.organization)``, so another
organization's invoice answers 404 exactly like a missing one.
"""

from datetime import timedelta

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_POST

from accounts.views import tenant_page
from catalog import selectors as catalog_selectors
from integrations.base import page_views
from integrations.base.onboarding import onboarding_steps
from integrations.crm import page_selectors as crm_page_selectors
from integrations.erp import page_selectors as erp_page_selectors
from integrations.pos import page_selectors as pos_page_selectors
from invoices import failures as failure_reasons
from invoices import report_selectors, selectors, services
from invoices.firs.errors import FirsError, FirsTransientError
from invoices.models import Invoice, InvoiceParty
from taxpoynt.lib.csv_export import csv_filename, csv_filters_refused, csv_response

PAGE_SIZE = 50
# The inbox lists this many failures of each kind, newest first (with the totals).
INBOX_ROWS = 100
# Sales and deals that failed before they had an invoice are listed this far back.
INBOX_SOURCE_DAYS = 31
# What a Retry from htmx answers, by the id of the element it replaces (less the invoice id):
# the inbox row, the invoice list's status cell; else the invoice's failure box.
HTMX_RETRY_TEMPLATES = {
    "failure-row": "invoices/_failure_row.html",
    "invoice-status": "invoices/_invoice_status_cell.html",
    "row-invoice": "invoices/_invoice_status_cell.html",
}
# The kinds of status cell (their ids' prefixes) a list shows an invoice in.
STATUS_CELLS = ("invoice-status", "row-invoice")
# invoice_mark_paid refuses other stages; the page offers the button only where it can work.
PAYABLE_STAGES = (Invoice.Stage.SIGNED, Invoice.Stage.TRANSMITTED, Invoice.Stage.CONFIRMED)


class InvoiceFilterForm(forms.Form):
    q = forms.CharField(
        label="Search", required=False, max_length=100, help_text="IRN, number or reference"
    )
    status = forms.ChoiceField(
        choices=[("", "Any status"), *Invoice.Status.choices], required=False
    )
    issued_from = forms.DateField(
        label="Issued from", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    issued_to = forms.DateField(
        label="Issued to", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    # Keyset cursor: the page continues below this id.
    after = forms.IntegerField(required=False, min_value=1)


class VatMonthForm(forms.Form):
    month = forms.DateField(
        label="Month",
        required=False,
        input_formats=["%Y-%m"],
        widget=forms.DateInput(attrs={"type": "month"}, format="%Y-%m"),
        error_messages={"invalid": "Enter a month as YYYY-MM."},
    )


class MarkPaidForm(forms.Form):
    reference = forms.CharField(
        label="Payment reference", required=False, max_length=255, help_text="Optional"
    )


@tenant_page
def dashboard(request):
    steps = onboarding_steps(organization=request.organization)
    return render(
        request,
        "invoices/dashboard.html",
        {
            "status_counts": _invoice_counts_by_status(request.organization),
            # The month so far, as its VAT return will count it (signed, credit notes netted).
            "month": report_selectors.vat_summary(
                organization=request.organization, month=timezone.localdate()
            ),
            # The checklist stays until every step is done.
            "onboarding_steps": [] if all(step.done for step in steps) else steps,
            "tax_alerts": catalog_selectors.tax_alerts_summary(organization=request.organization),
        },
    )


@tenant_page
def invoice_list(request):
    form = InvoiceFilterForm(request.GET)
    form.is_valid()  # filters by the valid fields; the form shows the others' errors
    invoices, next_after = _invoice_page(
        _invoices_filtered(request.organization, form.cleaned_data),
        after=form.cleaned_data.get("after"),
    )
    context = {"form": form, "invoices": invoices, **_page_queries(request.GET, next_after)}
    # htmx filtering swaps the results only; a history restore needs the whole page.
    if request.htmx and not request.htmx.history_restore_request:
        response = render(request, "invoices/_invoice_results.html", context)
    else:
        response = render(request, "invoices/invoice_list.html", context)
    patch_vary_headers(response, ("HX-Request",))
    return response


@tenant_page
def invoice_export(request):
    """The list's invoices (same filters, every page) as a CSV file, streamed."""
    form = InvoiceFilterForm(request.GET)
    if not form.is_valid():
        return csv_filters_refused(form)
    filters = form.cleaned_data
    invoices = _invoices_filtered(request.organization, filters)
    return csv_response(
        filename=csv_filename("invoices", filters.get("issued_from"), filters.get("issued_to")),
        header=report_selectors.INVOICE_EXPORT_HEADER,
        rows=report_selectors.invoice_export_rows(invoices),
    )


@tenant_page
def vat_summary(request):
    """The month's VAT figures to file from (this month unless one is asked for), as a page or,
    with ``format=csv``, as a file."""
    form = VatMonthForm(request.GET)
    if not form.is_valid():
        return render(
            request, "invoices/vat_summary.html", {"form": form, "summary": None}, status=400
        )
    month = form.cleaned_data["month"] or timezone.localdate()
    summary = report_selectors.vat_summary(organization=request.organization, month=month)
    if request.GET.get("format") == "csv":
        return csv_response(
            filename=f"vat-summary-{month:%Y-%m}.csv",
            header=report_selectors.VAT_SUMMARY_HEADER,
            rows=report_selectors.vat_summary_rows(summary),
        )
    return render(
        request,
        "invoices/vat_summary.html",
        {"form": VatMonthForm(initial={"month": month}), "summary": summary, "month": month},
    )


@tenant_page
def invoice_detail(request, invoice_id: int):
    invoice = _invoice_with_details(request.organization, invoice_id)
    return render(
        request,
        "invoices/invoice_detail.html",
        {
            "invoice": invoice,
            "parties": {party.role: party for party in invoice.parties.all()},
            "can_mark_paid": request.membership.can_operate
            and invoice.stage in PAYABLE_STAGES
            and invoice.payment_status != Invoice.PaymentStatus.PAID,
            "mark_paid_form": MarkPaidForm(),
            "can_email": request.membership.can_operate
            and bool(invoice.qr_stamp)
            and any(
                party.role == InvoiceParty.Role.CUSTOMER and party.email
                for party in invoice.parties.all()
            ),
        },
    )


@tenant_page
def invoice_print(request, invoice_id: int):
    """The invoice (a receipt for a B2C sale) laid out for paper, with its QR code and IRN."""
    invoice = _invoice_with_details(request.organization, invoice_id)
    is_receipt = invoice.kind == Invoice.Kind.B2C and not invoice.is_credit_note
    return render(
        request,
        "invoices/invoice_print.html",
        {
            "invoice": invoice,
            "parties": {party.role: party for party in invoice.parties.all()},
            "is_receipt": is_receipt,
            # A till roll has no room for a fifth column; A4 documents show each line's VAT.
            "amount_columns": 3 if is_receipt else 4,
        },
    )


@tenant_page
@require_POST
def invoice_email(request, invoice_id: int):
    if not request.membership.can_operate:
        raise PermissionDenied("Viewers cannot act on invoices.")
    invoice = _invoice_get(request.organization, invoice_id)
    try:
        sent = services.invoice_email_to_customer(invoice=invoice, sent_by=request.user)
    except ValueError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"Sent to {sent.to}.")
    return redirect("invoices:detail", invoice_id=invoice.pk)


@tenant_page
@require_POST
def invoice_retry(request, invoice_id: int):
    """Re-drive a failing invoice now. From htmx, answers the part of the page that showed the
    failure (its inbox row, or the invoice's failure box), which then follows the invoice."""
    _require_operator(request)
    invoice = _invoice_get(request.organization, invoice_id)
    queued = invoice.status in services.RETRYABLE_STATUSES and services.invoice_redrive(
        invoice=invoice, actor=request.user
    )
    if request.htmx:
        invoice.refresh_from_db()
        target = (request.htmx.target or "").removesuffix(f"-{invoice.pk}")
        template = HTMX_RETRY_TEMPLATES.get(target, "invoices/_invoice_failure.html")
        context = _failure_context(request, invoice, queued=queued)
        if target in STATUS_CELLS:
            context.update(cell=target, following=queued)
        return render(request, template, context)
    if queued:
        messages.success(request, "Queued again; this page shows the outcome when it is done.")
    else:
        messages.info(request, "Nothing to retry: the invoice is on its way or done.")
    return redirect("invoices:detail", invoice_id=invoice.pk)


@tenant_page
def invoice_failure(request, invoice_id: int):
    """The invoice's failure box as it is now (htmx polls it while the invoice is moving)."""
    invoice = _invoice_get(request.organization, invoice_id)
    return render(request, "invoices/_invoice_failure.html", _failure_context(request, invoice))


@tenant_page
def invoice_status_cell(request, invoice_id: int):
    """An invoice's status cell as it is now (htmx polls it after a Retry from a list)."""
    invoice = _invoice_get(request.organization, invoice_id)
    cell = request.GET.get("cell")
    context = {
        "invoice": invoice,
        "cell": cell if cell in STATUS_CELLS else STATUS_CELLS[0],
        "following": True,
    }
    return render(request, "invoices/_invoice_status_cell.html", context)


@tenant_page
def failures(request):
    organization = request.organization
    failing = selectors.invoices_failing(organization=organization)
    since = timezone.now() - timedelta(days=INBOX_SOURCE_DAYS)
    context = {
        "invoice_failures": list(failing.order_by("-id")[:INBOX_ROWS]),
        "invoice_failure_count": failing.count(),
        "source_failures": _source_failures(organization, since=since),
        "retryable_count": selectors.invoices_retryable(organization=organization).count(),
        "can_operate": request.membership.can_operate,
        "source_days": INBOX_SOURCE_DAYS,
    }
    # The list refreshes itself (htmx); a history restore needs the whole page.
    if request.htmx and not request.htmx.history_restore_request:
        response = render(request, "invoices/_failure_list.html", context)
    else:
        response = render(request, "invoices/failures.html", context)
    patch_vary_headers(response, ("HX-Request",))
    return response


@tenant_page
@require_POST
def failures_retry_all(request):
    _require_operator(request)
    count = services.invoices_retry_all(organization=request.organization, actor=request.user)
    if count:
        messages.success(
            request,
            f"{count} invoice{'s' if count != 1 else ''} queued again; this page follows them.",
        )
    else:
        messages.info(request, "Nothing can be retried right now.")
    return redirect("invoices:failures")


def _require_operator(request) -> None:
    if not request.membership.can_operate:
        raise PermissionDenied("Viewers cannot act on invoices.")


def _failure_context(request, invoice: Invoice, *, queued: bool | None = None) -> dict:
    """What an invoice's failure box or inbox row shows (its diagnosis comes from the
    invoice_failures template tags); ``queued`` tells the outcome of a Retry just made."""
    return {"invoice": invoice, "queued": queued}


def _source_failures(organization, *, since) -> list[dict]:
    """Sales, deals and ERP documents that failed before they had an invoice, and ERP documents
    cancelled there after it, each with its diagnosis and the page that retries it."""
    diagnosis = failure_reasons.source_row_diagnosis()
    rows = [
        {
            "kind": "Sale",
            "reference": row.external_transaction_id,
            "at": row.transaction_timestamp,
            "error": "; ".join(page_views.processing_errors(row.processing_errors)),
            "url": reverse("pos:transaction", args=[row.pk]),
            "retry_url": reverse("pos:transaction_retry", args=[row.pk]),
            "diagnosis": diagnosis,
        }
        for row in pos_page_selectors.transactions_failed_uninvoiced(
            organization=organization, since=since, limit=INBOX_ROWS
        )
    ]
    rows += [
        {
            "kind": "Deal",
            "reference": row.deal_title or row.external_deal_id,
            "at": row.received_at,
            "error": "; ".join(page_views.processing_errors(row.processing_errors)),
            "url": reverse("crm:deal", args=[row.pk]),
            "retry_url": reverse("crm:deal_retry", args=[row.pk]),
            "diagnosis": diagnosis,
        }
        for row in crm_page_selectors.deals_failed_uninvoiced(
            organization=organization, since=since, limit=INBOX_ROWS
        )
    ]
    cancelled = failure_reasons.cancelled_after_signing_diagnosis()
    rows += [
        {
            "kind": row.get_document_kind_display(),
            "reference": row.document_number or row.external_document_id,
            "at": row.updated_at,
            "error": "; ".join(page_views.processing_errors(row.processing_errors)),
            "url": reverse("erp:document", args=[row.pk]),
            # An invoiced document failed because the ERP cancelled it: nothing to retry.
            "retry_url": "" if row.invoice_id else reverse("erp:document_retry", args=[row.pk]),
            "diagnosis": cancelled if row.invoice_id else diagnosis,
        }
        for row in erp_page_selectors.documents_failed(
            organization=organization, since=since, limit=INBOX_ROWS
        )
    ]
    return sorted(rows, key=lambda row: row["at"], reverse=True)


@tenant_page
@require_POST
def invoice_mark_paid(request, invoice_id: int):
    _require_operator(request)
    invoice = _invoice_get(request.organization, invoice_id)
    form = MarkPaidForm(request.POST)
    if not form.is_valid():
        messages.error(request, " ".join(form.errors["reference"]))
        return redirect("invoices:detail", invoice_id=invoice.pk)
    try:
        services.invoice_mark_paid(
            invoice=invoice, actor=request.user, reference=form.cleaned_data["reference"]
        )
    except ValueError as exc:  # not signed by FIRS yet
        messages.error(request, str(exc))
    except FirsTransientError:
        messages.error(request, "FIRS is not answering right now; try again in a few minutes.")
    except FirsError as exc:
        messages.error(request, f"FIRS refused: {exc}")
    else:
        messages.success(request, "Marked paid; FIRS has been told.")
    return redirect("invoices:detail", invoice_id=invoice.pk)


def _page_queries(query, next_after: int | None) -> dict:
    """Query strings of the first and the next page, keeping the filters; None where there is
    no such page to go to."""
    first, following = query.copy(), query.copy()
    first.pop("after", None)
    following["after"] = next_after
    return {
        "first_page_query": first.urlencode() if "after" in query else None,
        "next_page_query": following.urlencode() if next_after is not None else None,
    }


# --- Reads for these pages, each scoped to the organization inside the query ------------------


def _invoice_counts_by_status(organization) -> list[tuple[str, str, int]]:
    """(status, label, count) for every status in pipeline order, zeros included."""
    counts = dict(
        selectors.invoice_list(organization=organization)
        .order_by()
        .values_list("status")
        .annotate(Count("id"))
    )
    return [(status, label, counts.get(status, 0)) for status, label in Invoice.Status.choices]


def _invoices_filtered(organization, filters: dict):
    invoices = selectors.invoice_list(organization=organization)
    if filters.get("q"):
        term = filters["q"]  # already stripped by the form
        invoices = invoices.filter(
            Q(irn__icontains=term) | Q(number__icontains=term) | Q(source_reference__icontains=term)
        )
    if filters.get("status"):
        invoices = invoices.filter(status=filters["status"])
    if filters.get("issued_from"):
        invoices = invoices.filter(issue_date__gte=filters["issued_from"])
    if filters.get("issued_to"):
        invoices = invoices.filter(issue_date__lte=filters["issued_to"])
    return invoices


def _invoice_page(invoices, *, after: int | None) -> tuple[list[Invoice], int | None]:
    """One page, newest first, and the id the next page starts below (None on the last page).

    Keyset pagination: no COUNT, and a page stays stable while new invoices arrive."""
    if after is not None:
        invoices = invoices.filter(pk__lt=after)
    page = list(invoices.order_by("-id")[: PAGE_SIZE + 1])
    if len(page) > PAGE_SIZE:
        return page[:PAGE_SIZE], page[PAGE_SIZE - 1].pk
    return page, None


def _invoice_get(organization, invoice_id: int) -> Invoice:
    try:
        return selectors.invoice_get(organization=organization, invoice_id=invoice_id)
    except Invoice.DoesNotExist as exc:
        raise Http404 from exc


def _invoice_with_details(organization, invoice_id: int) -> Invoice:
    try:
        return (
            selectors.invoice_list(organization=organization)
            .prefetch_related("lines", "tax_subtotals", "parties", "history", "emails__sent_by")
            .get(pk=invoice_id)
        )
    except Invoice.DoesNotExist as exc:
        raise Http404 from exc
