"""Forms of the tenant pages: they translate input; the rules stay in accounts.services."""

from django import forms
from django.contrib.auth.forms import UserCreationForm

from accounts.models import Membership, User


class OrganizationSwitchForm(forms.Form):
    organization = forms.IntegerField(min_value=1)


class InvitationForm(forms.Form):
    """Invites an e-mail address, whether or not it has an account yet."""

    email = forms.EmailField(label="E-mail address", max_length=254)
    role = forms.ChoiceField(choices=Membership.Role.choices, initial=Membership.Role.MEMBER)


class InvitationSignUpForm(UserCreationForm):
    """A new account for an invitation's address: the address comes from the invitation, so
    the person chooses only a username and a password."""

    class Meta(UserCreationForm.Meta):
        model = User
        fields = ("username",)

    def __init__(self, *args, email: str, **kwargs):
        super().__init__(*args, **kwargs)
        # The password validators compare the password with the account's e-mail too.
        self.instance.email = email
        # Plain text: the field template puts help in a paragraph, which cannot hold a list.
        self.fields["password1"].help_text = (
            "At least 8 characters, not only digits, not a common password and not like your "
            "username or e-mail address."
        )
