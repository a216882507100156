"""The API tokens page's form: it translates input; the rules stay in the services."""

from datetime import timedelta

from django import forms
from django.utils import timezone

LIFETIMES = [
    ("", "Never"),
    ("30", "In 30 days"),
    ("90", "In 90 days"),
    ("365", "In a year"),
]


class ApiTokenCreateForm(forms.Form):
    name = forms.CharField(
        max_length=100, help_text="What the token is for, e.g. the system that will use it."
    )
    expires_in = forms.TypedChoiceField(
        label="Expires",
        choices=LIFETIMES,
        coerce=int,
        empty_value=None,
        required=False,
    )

    @property
    def expires_at(self):
        days = self.cleaned_data["expires_in"]
        return None if days is None else timezone.now() + timedelta(days=days)
