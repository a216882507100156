"""Tenant pages of accounts, mounted at the site root."""

from django.urls import path

from accounts import views
from accounts.otp import views as otp_views

app_name = "accounts"

urlpatterns = [
    path("login/", views.sign_in, name="login"),
    path("logout/", views.sign_out, name="logout"),
    path("second-factor/", otp_views.second_factor, name="second_factor"),
    path("second-factor/enrol/", otp_views.second_factor_enrol, name="second_factor_enrol"),
    path("signup/", views.sign_up, name="sign_up"),
    path("business/", views.business_profile, name="business_profile"),
    path("business/firs/", views.firs_settings, name="firs_settings"),
    path("organizations/switch/", views.organization_switch, name="organization_switch"),
    path("members/", views.member_list, name="members"),
    path("members/<int:membership_id>/remove/", views.member_remove, name="member_remove"),
    path(
        "members/invitations/<int:invitation_id>/revoke/",
        views.invitation_revoke,
        name="invitation_revoke",
    ),
    path("invitations/<slug:token>/", views.invitation_open, name="invitation_open"),
    path("invitation/", views.invitation_accept, name="invitation"),
    path("invitation/sign-up/", views.invitation_sign_up, name="invitation_sign_up"),
]
