"""The Products & tax page: the items seen in sales, their classification, the open tax
alerts, CSV import and export. Reads start from the request's organization."""

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from accounts.views import tenant_page
from catalog import selectors, services
from catalog.models import ProductClassification
from taxpoynt.help_texts import HELP_TEXTS

PAGE_SIZE = 200
CSV_MAX_BYTES = 2 * 1024 * 1024


class ProductSearchForm(forms.Form):
    q = forms.CharField(label="Search", required=False, max_length=100, help_text="Name or HS code")


class ClassificationForm(forms.Form):
    hs_code = forms.CharField(
        label="HS code",
        max_length=20,
        required=False,
        help_text=HELP_TEXTS["hs_code"],
    )
    product_category = forms.CharField(max_length=255, required=False)
    vat_treatment = forms.ChoiceField(
        label="VAT", choices=ProductClassification.VatTreatment.choices
    )


class ImportForm(forms.Form):
    file = forms.FileField(label="CSV file", help_text="The columns of an export")


@tenant_page
def product_list(request):
    form = ProductSearchForm(request.GET)
    form.is_valid()
    organization = request.organization
    return render(
        request,
        "catalog/product_list.html",
        {
            "form": form,
            "products": selectors.classification_list(
                organization=organization, search=form.cleaned_data.get("q", "")
            )[:PAGE_SIZE],
            "alerts": selectors.tax_alerts_open(organization=organization),
            "import_form": ImportForm(),
            "can_operate": request.membership.can_operate,
        },
    )


@tenant_page
def product_edit(request, classification_id: int):
    try:
        product = selectors.classification_get(
            organization=request.organization, pk=classification_id
        )
    except ProductClassification.DoesNotExist:
        raise Http404("No such product") from None
    initial = {
        "hs_code": product.hs_code,
        "product_category": product.product_category,
        "vat_treatment": product.vat_treatment,
    }
    form = ClassificationForm(request.POST or None, initial=initial)
    if request.method == "POST":
        if not request.membership.can_operate:
            raise PermissionDenied("Viewers cannot classify products.")
        if form.is_valid():
            try:
                services.classification_update(
                    classification=product, **form.cleaned_data, actor=request.user
                )
            except ValidationError as error:
                for field, field_errors in error.message_dict.items():
                    form.add_error(field if field in form.fields else None, field_errors)
            else:
                messages.success(request, f"{product.name} classified.")
                return redirect("catalog:products")
    suggestions = selectors.hs_code_suggestions(
        typed=form.data.get("hs_code", "") if form.is_bound else "", name=product.name
    )
    return render(
        request,
        "catalog/product_edit.html",
        {"product": product, "form": form, "suggestions": suggestions},
    )


@tenant_page
def product_export(request):
    response = HttpResponse(
        selectors.classifications_csv(organization=request.organization),
        content_type="text/csv; charset=utf-8",
    )
    response["Content-Disposition"] = 'attachment; filename="products-and-tax.csv"'
    return response


@tenant_page
@require_POST
def product_import(request):
    if not request.membership.can_operate:
        raise PermissionDenied("Viewers cannot classify products.")
    form = ImportForm(request.POST, request.FILES)
    if not form.is_valid():
        messages.error(request, "Choose a CSV file to import.")
        return redirect("catalog:products")
    upload = form.cleaned_data["file"]
    if upload.size > CSV_MAX_BYTES:
        messages.error(request, "The file is over 2 MB; split it.")
        return redirect("catalog:products")
    try:
        text = upload.read().decode("utf-8-sig")
        saved = services.classifications_import_csv(
            organization=request.organization, text=text, actor=request.user
        )
    except UnicodeDecodeError:
        messages.error(request, "The file is not UTF-8 text.")
    except ValidationError as error:
        messages.error(request, "Nothing was imported: " + " ".join(error.messages))
    else:
        messages.success(request, f"{saved} products imported.")
    return redirect("catalog:products")
