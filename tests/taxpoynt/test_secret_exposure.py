"""Secrets never reach operators' screens in clear (S1/S3 static checks for the admin)."""

import pytest
from django.contrib import admin

from accounts.models import Membership
from taxpoynt.lib.fields import EncryptedTextField
from tests.factories import MembershipFactory, OrganizationFactory, UserFactory


def _encrypted_field_names(model):
    return {f.name for f in model._meta.concrete_fields if isinstance(f, EncryptedTextField)}


@pytest.mark.parametrize("model_admin", list(admin.site._registry.values()), ids=str)
def test_no_admin_lists_searches_or_edits_an_encrypted_field(model_admin, rf):
    secrets = _encrypted_field_names(model_admin.model)
    if not secrets:
        return
    request = rf.get("/")
    request.user = UserFactory.build(is_staff=True, is_superuser=True)
    assert not secrets & set(model_admin.get_list_display(request))
    assert not secrets & set(model_admin.get_search_fields(request))
    form_fields = set(model_admin.get_form(request).base_fields)
    assert not secrets & form_fields


@pytest.mark.django_db
def test_organization_change_page_masks_secrets(admin_client):
    organization = OrganizationFactory(
        firs_api_key="canary-key-0123456789", firs_api_secret="canary-secret-9876543210"
    )
    page = admin_client.get(f"/admin/accounts/organization/{organization.pk}/change/")
    assert page.status_code == 200
    assert b"canary-key" not in page.content
    assert b"canary-secret" not in page.content
    assert b"3210" in page.content


@pytest.mark.django_db
def test_tenant_users_cannot_use_the_admin(client):
    tenant = MembershipFactory(role=Membership.Role.OWNER).user
    client.force_login(tenant)
    response = client.get("/admin/accounts/organization/")
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]
