from rest_framework.routers import SimpleRouter

from accounts.api import MemberViewSet, OrganizationViewSet

router = SimpleRouter()
router.register("organizations", OrganizationViewSet, basename="organization")
router.register(
    r"organizations/(?P<organization_pk>\d+)/members", MemberViewSet, basename="organization-member"
)

urlpatterns = router.urls
