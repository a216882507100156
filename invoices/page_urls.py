"""Tenant pages of invoices, mounted at the site root; the dashboard is the home page."""

from django.urls import path

from invoices import views

app_name = "invoices"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("invoices/", views.invoice_list, name="list"),
    path("invoices/export.csv", views.invoice_export, name="export"),
    path("vat/", views.vat_summary, name="vat_summary"),
    path("invoices/<int:invoice_id>/", views.invoice_detail, name="detail"),
    path("invoices/<int:invoice_id>/mark-paid/", views.invoice_mark_paid, name="mark_paid"),
    path("invoices/<int:invoice_id>/print/", views.invoice_print, name="print"),
    path("invoices/<int:invoice_id>/email/", views.invoice_email, name="email"),
    path("invoices/<int:invoice_id>/retry/", views.invoice_retry, name="retry"),
    path("invoices/<int:invoice_id>/failure/", views.invoice_failure, name="failure"),
    path("invoices/<int:invoice_id>/status/", views.invoice_status_cell, name="status_cell"),
    path("failures/", views.failures, name="failures"),
    path("failures/retry-all/", views.failures_retry_all, name="failures_retry_all"),
]
