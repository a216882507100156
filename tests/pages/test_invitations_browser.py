"""An invitation in a real browser: the owner invites from the Members page, and the invitee opens
the e-mailed link signed out, creates an account for the invited address and lands in the
organization. Screenshots go to var/screenshots/."""

import re

import pytest
from django.core import mail
from playwright.sync_api import expect

from accounts.models import Membership, User
from tests.factories import PASSWORD
from tests.pages.browser_support import SCREENSHOTS

pytestmark = pytest.mark.slow


def _shot(page, name: str) -> None:
    page.screenshot(path=SCREENSHOTS / f"{name}.png", full_page=True)


def test_an_invitee_signs_up_through_the_link(
    page, live_server, org_a, owner_a, sent_invitation_token
):
    page.goto("/login/")
    page.get_by_label("Username").fill(owner_a.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Members").click()
    page.get_by_label("E-mail address").fill("ada@example.com")
    page.get_by_label("Role").select_option(label="Viewer")
    page.get_by_role("button", name="Send invitation").click()
    expect(
        page.get_by_text("An invitation to join as viewer was e-mailed to ada@example.com.")
    ).to_be_visible()
    expect(page.get_by_role("rowheader", name="ada@example.com")).to_be_visible()
    _shot(page, "members_invited")
    page.get_by_role("button", name="Sign out").click()

    link = f"{live_server.url}/invitations/{sent_invitation_token('ada@example.com')}/"
    assert link in mail.outbox[-1].body
    page.goto(link)
    expect(page).to_have_url(re.compile(r"/invitation/$"))
    expect(page.get_by_role("heading", name=f"Join {org_a.legal_name}")).to_be_visible()
    _shot(page, "invitation_signed_out")
    page.get_by_role("link", name="Create an account").click()
    page.get_by_label("Username").fill("ada")
    page.get_by_label("Password", exact=True).fill("a long new passphrase")
    page.get_by_label("Password confirmation").fill("a long new passphrase")
    _shot(page, "invitation_sign_up")
    page.get_by_role("button", name="Create the account and join").click()
    expect(page.get_by_text(f"You joined {org_a.legal_name} as viewer.")).to_be_visible()
    expect(page.get_by_role("heading", name="Dashboard", level=1)).to_be_visible()
    ada = User.objects.get(username="ada")
    assert ada.email == "ada@example.com"
    assert Membership.objects.get(user=ada).organization == org_a

    page.goto(link)
    expect(page.get_by_text("This invitation has already been used.")).to_be_visible()
    _shot(page, "invitation_used")
