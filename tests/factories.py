import factory
from factory.django import DjangoModelFactory

from accounts.models import Membership, Organization, User


class UserFactory(DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda user: f"{user.username}@example.com")
    password = factory.django.Password("correct horse battery")


class OrganizationFactory(DjangoModelFactory):
    class Meta:
        model = Organization

    legal_name = factory.Sequence(lambda n: f"Business {n} Ltd")
    tin = factory.Sequence(lambda n: f"{10000000 + n:08d}-0001")
    firs_service_id = factory.Sequence(lambda n: f"SVC{n:05d}")
    contact_email = factory.Sequence(lambda n: f"accounts{n}@business.example")
    city_name = "Lagos"
    country = "NG"


class MembershipFactory(DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    organization = factory.SubFactory(OrganizationFactory)
    role = Membership.Role.MEMBER
