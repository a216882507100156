"""The Products & tax pages, mounted at the site root."""

from django.urls import path

from catalog import views

app_name = "catalog"

urlpatterns = [
    path("products/", views.product_list, name="products"),
    path("products/export.csv", views.product_export, name="export"),
    path("products/import/", views.product_import, name="import"),
    path("products/<int:classification_id>/", views.product_edit, name="edit"),
]
