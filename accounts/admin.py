from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils.html import format_html

from accounts import selectors, services
from accounts.admin_scoping import ScopedChoicesMixin, TenantModelAdmin
from accounts.api_tokens import admin as api_token_admin  # noqa: F401 (registers its admin)
from accounts.forms import BusinessProfileForm
from accounts.models import Invitation, Membership, OperatorAssignment, Organization, User
from taxpoynt.lib.fields import mask_secret


class MembershipInline(ScopedChoicesMixin, admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ("user",)
    readonly_fields = ("last_used_at",)


class OperatorAssignmentInline(admin.TabularInline):
    """The organizations a support operator (staff, not superuser) works on; superusers assign
    them."""

    model = OperatorAssignment
    fk_name = "operator"
    extra = 0
    autocomplete_fields = ("organization",)
    verbose_name = "assigned organization"
    verbose_name_plural = "assigned organizations (support operators only see these)"


@admin.register(User)
class TaxpoyntUserAdmin(TenantModelAdmin, UserAdmin):
    list_display = ("username", "email", "is_staff", "is_active", "last_login")
    # A support operator sees the members of their organizations, and changes none of them: a
    # user's flags, groups and permissions are the platform's.
    organization_path = "memberships__organization"

    def get_inlines(self, request, obj):
        return [OperatorAssignmentInline] if request.user.is_superuser and obj else []

    def has_add_permission(self, request):
        return request.user.is_superuser and super().has_add_permission(request)

    def has_change_permission(self, request, obj=None):
        return request.user.is_superuser and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser and super().has_delete_permission(request, obj)


class OrganizationAdminForm(forms.ModelForm):
    """The profile checked by the same service as the tenant pages (accounts.services); the FIRS
    settings (change page only) are saved by ``organization_firs_configure`` once FIRS accepts
    them, the key and secret write-only."""

    state = forms.ChoiceField(label="State", required=False)
    country = forms.ChoiceField(label="Country")
    firs_business_id = forms.CharField(label="FIRS business id", max_length=36, required=False)
    firs_service_id = forms.CharField(label="FIRS service id", max_length=8, required=False)
    firs_base_url = forms.URLField(label="FIRS base URL", required=False)
    # Not the model's fields: a new key or secret is typed in, the stored one is never rendered.
    new_firs_api_key = forms.CharField(
        label="New FIRS API key",
        required=False,
        widget=forms.PasswordInput(render_value=False),
        help_text="Write-only: leave empty to keep the stored key.",
    )
    new_firs_api_secret = forms.CharField(
        label="New FIRS API secret",
        required=False,
        widget=forms.PasswordInput(render_value=False),
        help_text="Write-only: leave empty to keep the stored secret.",
    )

    FIRS_FIELDS = (
        "firs_business_id",
        "firs_service_id",
        "firs_base_url",
        "new_firs_api_key",
        "new_firs_api_secret",
    )
    # The service names the stored fields; these form fields stand for them.
    SERVICE_FIELD_NAMES = {
        "firs_api_key": "new_firs_api_key",
        "firs_api_secret": "new_firs_api_secret",
    }

    class Meta:
        model = Organization
        fields = (*services.PROFILE_FIELDS, "firs_public_key", "firs_certificate", "is_active")

    def __init__(self, *args, actor=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.actor = actor
        choices = BusinessProfileForm()
        self.fields["state"].choices = choices.fields["state"].choices
        self.fields["country"].choices = choices.fields["country"].choices
        if self.instance.pk:
            self.initial["firs_business_id"] = str(self.instance.firs_business_id or "")
            self.initial["firs_service_id"] = self.instance.firs_service_id
            self.initial["firs_base_url"] = self.instance.firs_base_url
        else:
            for name in self.FIRS_FIELDS:
                del self.fields[name]

    def clean(self):
        cleaned = super().clean()
        if self.errors:  # a field the form itself refused: its error says enough
            return cleaned
        try:
            cleaned.update(
                services.profile_clean(**{name: cleaned[name] for name in services.PROFILE_FIELDS})
            )
        except ValidationError as exc:
            for field, errors in exc.error_dict.items():
                self.add_error(field, errors)
        if self.instance.pk and not self.errors and self._firs_changed():
            try:
                services.organization_firs_configure(
                    organization=self.instance,
                    actor=self.actor,
                    business_id=cleaned["firs_business_id"],
                    service_id=cleaned["firs_service_id"],
                    base_url=cleaned["firs_base_url"],
                    api_key=cleaned["new_firs_api_key"],
                    api_secret=cleaned["new_firs_api_secret"],
                )
            except ValidationError as exc:
                by_field = exc.error_dict if hasattr(exc, "error_dict") else {None: exc.messages}
                for field, errors in by_field.items():
                    field = self.SERVICE_FIELD_NAMES.get(field, field)
                    self.add_error(field if field in self.fields else None, errors)
        return cleaned

    def _firs_changed(self) -> bool:
        # An empty key or secret keeps the stored one, so only one typed in counts as a change.
        return any(name in self.changed_data for name in self.FIRS_FIELDS)


class FirsSetupFilter(admin.SimpleListFilter):
    """Organizations FIRS cannot sign for yet: their sales wait, so an operator finds them."""

    title = "FIRS set-up"
    parameter_name = "firs_setup"

    def lookups(self, request, model_admin):
        return [("incomplete", "Incomplete"), ("complete", "Complete")]

    def queryset(self, request, queryset):
        if self.value() not in ("incomplete", "complete"):
            return queryset
        return selectors.organizations_by_firs_setup(
            organizations=queryset, complete=self.value() == "complete"
        )


@admin.register(Organization)
class OrganizationAdmin(TenantModelAdmin):
    organization_path = "pk"
    form = OrganizationAdminForm
    list_display = (
        "legal_name",
        "tin",
        "firs_service_id",
        "firs_setup",
        "contact_email",
        "is_active",
    )
    list_filter = ("is_active", FirsSetupFilter)
    search_fields = ("legal_name", "tin", "contact_email")
    readonly_fields = (
        "public_id",
        "created_at",
        "firs_setup_detail",
        "firs_verified_at",
        "firs_api_key_masked",
        "firs_api_secret_masked",
    )
    inlines = [MembershipInline]

    def get_form(self, request, obj=None, change=False, **kwargs):
        # The model fields the form writes; the FIRS ones are the service's to save.
        kwargs["fields"] = OrganizationAdminForm.Meta.fields
        form = super().get_form(request, obj, change=change, **kwargs)

        class WithActor(form):
            def __init__(self, *args, **inner):
                super().__init__(*args, actor=request.user, **inner)

        return WithActor

    def save_model(self, request, obj, form, change):
        services.organization_operator_save(organization=obj, actor=request.user)

    def save_formset(self, request, form, formset, change):
        if formset.model is not Membership:
            return super().save_formset(request, form, formset, change)
        # Memberships through the services, so each addition, role change and removal is
        # recorded in the audit trail.
        memberships = formset.save(commit=False)
        for membership in formset.deleted_objects:
            services.membership_operator_delete(membership=membership, actor=request.user)
        for membership in memberships:
            services.membership_operator_save(membership=membership, actor=request.user)
        formset.save_m2m()

    def has_add_permission(self, request):
        # An organization a support operator made would be outside the ones assigned to them.
        return request.user.is_superuser and super().has_add_permission(request)

    def get_fields(self, request, obj=None):
        fields = [
            *services.PROFILE_FIELDS,
            "firs_public_key",
            "firs_certificate",
            "is_active",
            "public_id",
            "created_at",
        ]
        if obj is not None:
            fields += [
                "firs_setup_detail",
                *OrganizationAdminForm.FIRS_FIELDS,
                "firs_verified_at",
                "firs_api_key_masked",
                "firs_api_secret_masked",
            ]
        return fields

    @admin.display(description="FIRS set-up")
    def firs_setup(self, obj):
        return (
            "Incomplete"
            if selectors.organization_firs_setup_problem(organization=obj)
            else "Complete"
        )

    @admin.display(description="FIRS set-up")
    def firs_setup_detail(self, obj):
        """Why FIRS cannot sign yet, and the sales waiting for it (none once it can)."""
        problem = selectors.organization_firs_setup_problem(organization=obj)
        if not problem:
            return "Complete: FIRS signs this organization's sales."
        waiting = reverse("admin:invoices_invoice_changelist")
        return format_html(
            '{} <a href="{}?organization__id__exact={}&amp;status__exact=waiting_setup">'
            "Invoices waiting for it</a>",
            problem,
            waiting,
            obj.pk,
        )

    @admin.display(description="FIRS API key (stored)")
    def firs_api_key_masked(self, obj):
        return mask_secret(obj.firs_api_key)

    @admin.display(description="FIRS API secret (stored)")
    def firs_api_secret_masked(self, obj):
        return mask_secret(obj.firs_api_secret)


@admin.register(Membership)
class MembershipAdmin(TenantModelAdmin):
    organization_path = "organization"
    list_display = ("user", "organization", "role", "created_at", "last_used_at")
    list_filter = ("role",)
    search_fields = ("user__username", "organization__legal_name")
    autocomplete_fields = ("user", "organization")
    readonly_fields = ("last_used_at",)

    def save_model(self, request, obj, form, change):
        services.membership_operator_save(membership=obj, actor=request.user)

    def delete_model(self, request, obj):
        services.membership_operator_delete(membership=obj, actor=request.user)

    def delete_queryset(self, request, queryset):
        for membership in queryset:
            services.membership_operator_delete(membership=membership, actor=request.user)


@admin.register(Invitation)
class InvitationAdmin(TenantModelAdmin):
    """Invitations are made by tenants' owners and admins (the link goes only to the invited
    address); operators look them up and revoke them."""

    list_display = ("email", "organization", "role", "status", "invited_by", "expires_at")
    list_filter = ("role", ("accepted_at", admin.EmptyFieldListFilter))
    search_fields = ("email", "organization__legal_name")
    list_select_related = ("organization", "invited_by")
    fields = (
        "organization",
        "email",
        "role",
        "status",
        "invited_by",
        "created_at",
        "expires_at",
        "accepted_at",
        "accepted_by",
        "revoked_at",
    )
    readonly_fields = fields
    actions = ["revoke"]
    organization_path = "organization"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description="Status")
    def status(self, obj):
        return obj.get_status_display()

    @admin.action(description="Revoke the selected invitations", permissions=["delete"])
    def revoke(self, request, queryset):
        revoked = services.invitations_revoke(
            invitation_ids=queryset.values_list("pk", flat=True), actor=request.user
        )
        self.message_user(request, f"{revoked} invitation(s) revoked.", messages.SUCCESS)
