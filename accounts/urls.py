from django.urls import path
from rest_framework.routers import SimpleRouter

from accounts.api import InvitationAcceptView, InvitationViewSet, MemberViewSet, OrganizationViewSet

router = SimpleRouter()
router.register("organizations", OrganizationViewSet, basename="organization")
router.register(
    r"organizations/(?P<organization_pk>\d+)/members", MemberViewSet, basename="organization-member"
)
router.register(
    r"organizations/(?P<organization_pk>\d+)/invitations",
    InvitationViewSet,
    basename="organization-invitation",
)

urlpatterns = [
    path("invitations/accept/", InvitationAcceptView.as_view(), name="invitation-accept"),
    *router.urls,
]
