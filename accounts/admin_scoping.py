"""Support operators in the admin: staff who are not superusers see and act on the data of the
organizations assigned to them (``OperatorAssignment``) and nothing else.

Every ModelAdmin of tenant data subclasses ``TenantModelAdmin`` and names the lookup from its
model to the organization (``organization_path``), or scopes its queryset itself
(``scope_queryset``). Lists, change, delete and history pages, actions (they receive the list's
queryset), autocomplete (it searches the remote admin's queryset), foreign-key choices and the
related-object list filters all go through that one queryset. Every other ModelAdmin registered
on the site is for superusers only (``VerifiedAdminSite.register`` adds ``SuperusersOnlyMixin``),
unless it declares ``open_to_support_operators`` because it holds no tenant's data.
"""

from django.contrib import admin
from django.core.exceptions import ImproperlyConfigured
from django.db.models import Model, QuerySet

from accounts.selectors import operator_organization_ids


def _path_is_multivalued(model: type[Model], path: str) -> bool:
    """Whether following ``path`` from ``model`` can reach more than one row (a reverse foreign
    key or a many-to-many on the way), so filtering on it could repeat rows."""
    for name in path.split("__"):
        if name == "pk":
            return False
        field = model._meta.get_field(name)
        if field.one_to_many or field.many_to_many:
            return True
        model = field.related_model
    return False


class ScopedChoicesMixin:
    """Foreign-key and many-to-many choices limited to what the related model's admin shows the
    operator: a typed-in raw id or a forged POST of another tenant's row fails validation."""

    def _scoped_choices(self, db_field, request) -> QuerySet | None:
        if operator_organization_ids(user=request.user) is None:
            return None
        related = self.admin_site._registry.get(db_field.remote_field.model)
        if isinstance(related, TenantModelAdmin):
            return related.get_queryset(request)
        if isinstance(related, SuperusersOnlyMixin):
            return db_field.remote_field.model._default_manager.none()
        return None

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if "queryset" not in kwargs:
            scoped = self._scoped_choices(db_field, request)
            if scoped is not None:
                kwargs["queryset"] = scoped
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        if "queryset" not in kwargs:
            scoped = self._scoped_choices(db_field, request)
            if scoped is not None:
                kwargs["queryset"] = scoped
        return super().formfield_for_manytomany(db_field, request, **kwargs)


class TenantModelAdmin(ScopedChoicesMixin, admin.ModelAdmin):
    """The base of every ModelAdmin holding tenant data (see the module's docstring)."""

    # The lookup from the model to its organization: "organization", "connection__organization",
    # "pk" for Organization itself.
    organization_path = ""

    def __init__(self, model, admin_site):
        super().__init__(model, admin_site)
        overridden = type(self).scope_queryset is not TenantModelAdmin.scope_queryset
        if not self.organization_path and not overridden:
            raise ImproperlyConfigured(
                f"{type(self).__name__} holds tenant data: give it organization_path or "
                "scope_queryset."
            )

    def scope_queryset(self, queryset: QuerySet, organization_ids: QuerySet) -> QuerySet:
        """``queryset`` narrowed to rows of the organizations ``organization_ids`` selects."""
        lookup = {f"{self.organization_path}__in": organization_ids}
        if _path_is_multivalued(self.model, self.organization_path):
            # A subquery rather than a join, which would repeat rows (and DISTINCT would stop
            # bulk deletes).
            return queryset.filter(pk__in=self.model._default_manager.filter(**lookup).values("pk"))
        return queryset.filter(**lookup)

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        organization_ids = operator_organization_ids(user=request.user)
        if organization_ids is None:
            return queryset
        return self.scope_queryset(queryset, organization_ids)

    def get_list_filter(self, request):
        """A filter on a related model offers only the rows related to the operator's list (the
        plain one would list every tenant's)."""
        filters = super().get_list_filter(request)
        if operator_organization_ids(user=request.user) is None:
            return filters
        return [self._scoped_filter(entry) for entry in filters]

    def _scoped_filter(self, entry):
        name = entry[0] if isinstance(entry, (tuple, list)) else entry
        if not isinstance(name, str):
            return entry  # a SimpleListFilter: it filters the list's own queryset
        model, field = self.model, None
        for part in name.split("__"):
            field = model._meta.get_field(part)
            model = field.related_model or model
        if field.is_relation:
            return (name, admin.RelatedOnlyFieldListFilter)
        return entry


class SuperusersOnlyMixin:
    """A ModelAdmin of platform-wide data (no organization's): superusers only."""

    def has_module_permission(self, request):
        return request.user.is_superuser and super().has_module_permission(request)

    def has_view_permission(self, request, obj=None):
        return request.user.is_superuser and super().has_view_permission(request, obj)

    def has_add_permission(self, request, *args):
        return request.user.is_superuser and super().has_add_permission(request, *args)

    def has_change_permission(self, request, obj=None):
        return request.user.is_superuser and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser and super().has_delete_permission(request, obj)


def admin_class_for_site(admin_class: type[admin.ModelAdmin]) -> type[admin.ModelAdmin]:
    """The class the site registers: a tenant admin as it is, platform data for superusers."""
    if issubclass(admin_class, TenantModelAdmin) or getattr(
        admin_class, "open_to_support_operators", False
    ):
        return admin_class
    return type(
        admin_class.__name__,
        (SuperusersOnlyMixin, admin_class),
        {"__module__": admin_class.__module__, "__doc__": admin_class.__doc__},
    )
