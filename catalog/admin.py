from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError

from accounts.admin_scoping import TenantModelAdmin
from catalog.models import ProductClassification, TaxAlert
from catalog.services import classification_operator_save, classification_validate


class ProductClassificationAdminForm(forms.ModelForm):
    class Meta:
        model = ProductClassification
        fields = (
            "organization",
            "platform",
            "item_key",
            "name",
            "hs_code",
            "product_category",
            "vat_treatment",
        )

    def clean(self):
        cleaned = super().clean()
        try:
            valid = classification_validate(
                hs_code=cleaned.get("hs_code") or "",
                product_category=cleaned.get("product_category") or "",
                vat_treatment=cleaned.get("vat_treatment") or "",
            )
        except ValidationError as error:
            raise ValidationError(error.message_dict) from None
        cleaned["hs_code"] = valid.hs_code
        cleaned["product_category"] = valid.product_category
        return cleaned


@admin.register(ProductClassification)
class ProductClassificationAdmin(TenantModelAdmin):
    organization_path = "organization"
    form = ProductClassificationAdminForm
    list_display = ("name", "organization", "platform", "hs_code", "vat_treatment", "updated_at")
    list_filter = ("vat_treatment", "platform")
    search_fields = ("name", "item_key", "hs_code", "organization__legal_name")
    raw_id_fields = ("organization",)

    def save_model(self, request, obj, form, change):
        classification_operator_save(classification=obj, actor=request.user)


@admin.register(TaxAlert)
class TaxAlertAdmin(TenantModelAdmin):
    organization_path = "organization"
    list_display = ("classification", "kind", "count", "last_seen_at", "resolved_at")
    list_filter = ("kind",)
    raw_id_fields = ("organization", "classification")
    readonly_fields = ("first_seen_at",)
