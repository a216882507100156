"""Forms of the tenant pages: they translate input; the rules stay in accounts.services."""

from django import forms

from accounts.models import Membership, User


class OrganizationSwitchForm(forms.Form):
    organization = forms.IntegerField(min_value=1)


class MemberAddForm(forms.Form):
    """Adds an existing account (operators create accounts) by its username or email."""

    user = forms.CharField(label="Username or email", max_length=254)
    role = forms.ChoiceField(choices=Membership.Role.choices, initial=Membership.Role.MEMBER)

    def clean_user(self) -> User:
        identifier = self.cleaned_data["user"].strip()
        accounts = User.objects.filter(is_active=True)
        by_username = accounts.filter(username=identifier).first()
        if by_username is not None:
            return by_username
        # Emails are not unique on accounts: one that names several needs the username instead.
        by_email = list(accounts.filter(email__iexact=identifier)[:2])
        if not by_email:
            raise forms.ValidationError("No account has this username or email.")
        if len(by_email) > 1:
            raise forms.ValidationError("Several accounts use this email; give the username.")
        return by_email[0]
