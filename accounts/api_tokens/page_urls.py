"""The API tokens pages, mounted at the site root."""

from django.urls import path

from accounts.api_tokens import views

app_name = "api_tokens"

urlpatterns = [
    path("api-tokens/", views.api_token_list, name="list"),
    path("api-tokens/<int:token_id>/revoke/", views.api_token_revoke, name="revoke"),
]
