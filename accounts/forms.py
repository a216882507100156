"""Forms of the tenant pages: they translate input; the rules stay in accounts.services."""

from django import forms
from django.contrib.auth.forms import UserCreationForm

from accounts.models import Membership, User
from invoices.selectors import address_codes


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
        self.fields["password1"].help_text = self.CHOOSING_HELP

    # Plain text: the field template puts help in a paragraph, which cannot hold a list.
    CHOOSING_HELP = (
        "At least 8 characters, not only digits, not a common password and not like your "
        "username or e-mail address."
    )


class SignUpForm(UserCreationForm):
    """A new account and the business it registers, which the person owns."""

    email = forms.EmailField(label="E-mail address", max_length=254)
    legal_name = forms.CharField(label="Business legal name", max_length=255)
    tin = forms.CharField(
        label="TIN", max_length=13, help_text="As FIRS issued it, e.g. 12345678-0001."
    )

    class Meta(UserCreationForm.Meta):
        model = User
        fields = ("username", "email")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["password1"].help_text = InvitationSignUpForm.CHOOSING_HELP


def _state_choices():
    return [("", "—"), *sorted(address_codes().states.items(), key=lambda item: item[1])]


def _country_choices():
    countries = address_codes().countries
    ordered = sorted(countries.items(), key=lambda item: item[1])
    # Nigeria first: nearly every business here is Nigerian.
    return [(code, name) for code, name in ordered if code == "NG"] + [
        (code, name) for code, name in ordered if code != "NG"
    ]


class BusinessProfileForm(forms.Form):
    """The business as FIRS's supplier party shows it; accounts.services checks every field."""

    legal_name = forms.CharField(label="Legal name", max_length=255)
    tin = forms.CharField(label="TIN", max_length=13, help_text="e.g. 12345678-0001")
    contact_email = forms.EmailField(label="Contact e-mail", max_length=254)
    telephone = forms.CharField(
        label="Phone", max_length=20, required=False, help_text="e.g. 0803 123 4567"
    )
    street_name = forms.CharField(label="Street address", max_length=255, required=False)
    city_name = forms.CharField(label="City", max_length=100, required=False)
    postal_zone = forms.CharField(label="Postal code", max_length=20, required=False)
    state = forms.ChoiceField(label="State", required=False)
    country = forms.ChoiceField(label="Country")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["state"].choices = _state_choices()
        self.fields["country"].choices = _country_choices()


class FirsSettingsForm(forms.Form):
    """The FIRS ids and keys from the FIRS e-invoicing dashboard. The key and secret are never
    shown again: empty keeps the stored ones."""

    firs_business_id = forms.CharField(
        label="Business id", max_length=36, help_text="A UUID, as the FIRS dashboard shows it."
    )
    firs_service_id = forms.CharField(
        label="Service id", max_length=8, help_text="8 letters or digits; every IRN carries it."
    )
    firs_api_key = forms.CharField(
        label="API key", required=False, widget=forms.PasswordInput(render_value=False)
    )
    firs_api_secret = forms.CharField(
        label="API secret", required=False, widget=forms.PasswordInput(render_value=False)
    )

    def __init__(self, *args, organization, **kwargs):
        super().__init__(*args, **kwargs)
        for name in ("firs_api_key", "firs_api_secret"):
            stored = str(getattr(organization, name) or "")
            self.fields[name].help_text = (
                f"Set, ending …{stored[-4:]}. Leave empty to keep it."
                if len(stored) >= 12
                else ("Set. Leave empty to keep it." if stored else "Not set yet.")
            )
