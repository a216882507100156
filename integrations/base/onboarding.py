"""The dashboard's set-up checklist: what a new organization still has to do before its sales
become signed invoices. Reads only; each read is scoped to the organization."""

from dataclasses import dataclass

from django.urls import reverse

from accounts.selectors import organization_profile_is_complete
from integrations.base import families
from integrations.base.connectors import FAMILIES
from integrations.base.models import ConnectionBase
from invoices.models import Invoice

SIGNED_STAGES = (Invoice.Stage.SIGNED, Invoice.Stage.TRANSMITTED, Invoice.Stage.CONFIRMED)


@dataclass(frozen=True)
class OnboardingStep:
    key: str
    label: str
    done: bool
    url: str
    action: str


def onboarding_steps(*, organization) -> list[OnboardingStep]:
    """The four steps in order; the dashboard shows them until every one is done."""
    connected = any(
        families.get(name)
        .connection_model.objects.filter(organization=organization)
        .exclude(health=ConnectionBase.Health.DISCONNECTED)
        .exists()
        for name in FAMILIES
        if _registered(name)
    )
    return [
        OnboardingStep(
            "profile",
            "Complete the business profile",
            organization_profile_is_complete(organization=organization),
            reverse("accounts:business_profile"),
            "Edit the business profile",
        ),
        OnboardingStep(
            "firs",
            "Enter and verify the FIRS settings",
            organization.firs_verified_at is not None,
            reverse("accounts:firs_settings"),
            "Set up FIRS",
        ),
        OnboardingStep(
            "platform",
            "Connect a first platform",
            connected,
            reverse("pos:integrations"),
            "Connect a platform",
        ),
        OnboardingStep(
            "signed",
            "Get a first invoice signed by FIRS",
            Invoice.objects.filter(organization=organization, stage__in=SIGNED_STAGES).exists(),
            reverse("invoices:list"),
            "See the invoices",
        ),
    ]


def _registered(name: str) -> bool:
    try:
        families.get(name)
    except KeyError:  # a family without an app yet (erp)
        return False
    return True
