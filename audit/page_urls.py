"""Tenant pages of the audit trail, mounted at the site root."""

from django.urls import path

from audit import views

app_name = "audit"

urlpatterns = [path("activity/", views.audit_event_list, name="events")]
