"""Who reaches the tenant pages: anonymous users sign in first; another organization's objects
answer 404 exactly like missing ones; viewers and members manage nothing (403)."""

import re
from urllib.parse import quote

import pytest

from accounts.models import Invitation, Membership
from accounts.services import SESSION_ORGANIZATION_KEY
from invoices.models import Invoice
from tests.factories import InvitationFactory, InvoiceFactory, MembershipFactory, UserFactory

# Masked CSRF tokens differ on every render; everything else on a 404 page must not.
CSRF_TOKEN = re.compile(rb"[A-Za-z0-9]{64}")


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/"),
        ("get", "/invoices/"),
        ("get", "/invoices/{invoice}/"),
        ("get", "/members/"),
        ("post", "/invoices/{invoice}/mark-paid/"),
        ("post", "/members/"),
        ("post", "/members/{membership}/remove/"),
        ("post", "/members/invitations/{invitation}/revoke/"),
        ("post", "/organizations/switch/"),
    ],
)
def test_anonymous_users_are_sent_to_sign_in(client, org_a, owner_a, method, path):
    invoice = InvoiceFactory(organization=org_a, signed=True)
    membership = Membership.objects.get(user=owner_a)
    invitation = InvitationFactory(organization=org_a)
    path = path.format(invoice=invoice.pk, membership=membership.pk, invitation=invitation.pk)
    response = getattr(client, method)(path)
    assert response.status_code == 302
    assert response["Location"] == f"/login/?next={quote(path)}"
    invoice.refresh_from_db()
    assert invoice.payment_status == Invoice.PaymentStatus.PENDING
    assert Membership.objects.filter(pk=membership.pk).exists()
    invitation.refresh_from_db()
    assert invitation.status == "pending"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/invoices/{invoice}/"),
        ("get", "/invoices/{invoice}/status/"),
        ("post", "/invoices/{invoice}/mark-paid/"),
        ("post", "/members/{membership}/remove/"),
    ],
)
def test_another_organizations_objects_answer_like_missing_ones(
    client_a, org_b, owner_b, method, path
):
    invoice_b = InvoiceFactory(organization=org_b, signed=True)
    membership_b = Membership.objects.get(user=owner_b)
    foreign = getattr(client_a, method)(
        path.format(invoice=invoice_b.pk, membership=membership_b.pk)
    )
    missing = getattr(client_a, method)(
        path.format(invoice=invoice_b.pk + 1000, membership=membership_b.pk + 1000)
    )
    assert foreign.status_code == missing.status_code == 404
    assert CSRF_TOKEN.sub(b"", foreign.content) == CSRF_TOKEN.sub(b"", missing.content)
    assert invoice_b.irn not in foreign.content.decode()
    invoice_b.refresh_from_db()
    assert invoice_b.payment_status == Invoice.PaymentStatus.PENDING
    assert not invoice_b.exchanges.exists()
    assert Membership.objects.filter(pk=membership_b.pk).exists()


@pytest.mark.django_db
def test_switching_to_an_organization_one_is_not_in_answers_404(client_a, org_a, org_b):
    response = client_a.post("/organizations/switch/", {"organization": org_b.pk})
    assert response.status_code == 404
    assert client_a.session.get(SESSION_ORGANIZATION_KEY) is None
    assert client_a.get("/").context["request"].organization == org_a


@pytest.mark.django_db
@pytest.mark.parametrize("role", [Membership.Role.VIEWER, Membership.Role.MEMBER])
def test_viewers_and_members_see_members_but_cannot_manage_them(
    client, org_a, owner_a, member_a, role
):
    client.force_login(member_a(role))
    outsider = UserFactory()
    owner_membership = Membership.objects.get(user=owner_a)

    page = client.get("/members/")
    assert page.status_code == 200
    assert owner_a.username in page.content.decode()
    assert page.context["request"].membership.role == role

    invited = client.post("/members/", {"email": outsider.email, "role": "member"})
    removed = client.post(f"/members/{owner_membership.pk}/remove/")
    invitation = InvitationFactory(organization=org_a)
    revoked = client.post(f"/members/invitations/{invitation.pk}/revoke/")
    assert invited.status_code == removed.status_code == revoked.status_code == 403
    assert not Invitation.objects.filter(email=outsider.email).exists()
    invitation.refresh_from_db()
    assert invitation.status == "pending"
    assert Membership.objects.filter(pk=owner_membership.pk).exists()


@pytest.mark.django_db
def test_viewer_cannot_mark_paid(client, org_a, member_a):
    client.force_login(member_a(Membership.Role.VIEWER))
    invoice = InvoiceFactory(organization=org_a, signed=True)
    response = client.post(f"/invoices/{invoice.pk}/mark-paid/", {"reference": "r-1"})
    assert response.status_code == 403
    invoice.refresh_from_db()
    assert invoice.payment_status == Invoice.PaymentStatus.PENDING
    assert not invoice.exchanges.exists()
    detail = client.get(f"/invoices/{invoice.pk}/")
    assert detail.status_code == 200
    assert detail.context["can_mark_paid"] is False


@pytest.mark.django_db
def test_a_user_in_no_organization_is_told_so(client):
    client.force_login(UserFactory())
    response = client.get("/invoices/")
    assert response.status_code == 403
    assert "No organization yet" in response.content.decode()


@pytest.mark.django_db
def test_an_inactive_organization_is_not_a_working_one(client, org_a, org_b):
    user = MembershipFactory(organization=org_a).user
    MembershipFactory(user=user, organization=org_b)
    org_a.is_active = False
    org_a.save()
    client.force_login(user)
    response = client.get("/")
    assert response.context["request"].organization == org_b
    assert list(response.context["request"].organizations) == [org_b]


@pytest.mark.django_db
def test_the_main_menu_leads_to_every_familys_pages_and_the_vat_summary(client_a):
    html = client_a.get("/erp/documents/").content.decode()
    nav = re.search(r'<nav class="site-nav" aria-label="Main">.*?</nav>', html, re.S).group(0)
    links = dict(re.findall(r'<li><a href="([^"]+)"[^>]*>([^<]+)</a></li>', nav))
    for path, name in (
        ("/pos/", "POS"),
        ("/crm/", "CRM"),
        ("/erp/", "ERP"),
        ("/erp/documents/", "Documents"),
        ("/vat/", "VAT summary"),
        ("/failures/", "Failures"),
    ):
        assert links.get(path) == name, path
    assert '<a href="/erp/documents/" aria-current="page">Documents</a>' in nav
