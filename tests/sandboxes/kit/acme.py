"""Acme: a made-up platform written on the kit the way a sandbox is, for the kit's own tests.

Its tables exist only while a test asks for the ``acme_tables`` fixture."""

from datetime import timedelta

from django.db import models
from django.http import JsonResponse

from sandboxes.kit.endpoints import PlatformError, RateWindow, SandboxAPI, bearer_token, route
from sandboxes.kit.models import SandboxAccessToken, SandboxAuthorizationCode
from sandboxes.kit.oauth import OAuthApp, OAuthFailure, OAuthServer

REDIRECT_URI = "https://app.example.ng/acme/callback"


class AcmeShop(models.Model):
    shop_id = models.CharField(max_length=32, unique=True)
    token = models.CharField(max_length=64, unique=True)
    client_id = models.CharField(max_length=64, unique=True)
    client_secret = models.CharField(max_length=64)
    requests_per_window = models.PositiveIntegerField(default=1000)
    orders_made = models.PositiveIntegerField(default=0)

    class Meta:
        app_label = "sandbox_kit"
        managed = False

    def __str__(self):
        return self.shop_id


class AcmeAuthorizationCode(SandboxAuthorizationCode):
    account = models.ForeignKey(AcmeShop, on_delete=models.CASCADE)

    class Meta:
        app_label = "sandbox_kit"
        managed = False


class AcmeAccessToken(SandboxAccessToken):
    account = models.ForeignKey(AcmeShop, on_delete=models.CASCADE)

    class Meta:
        app_label = "sandbox_kit"
        managed = False


ACME_MODELS = (AcmeShop, AcmeAuthorizationCode, AcmeAccessToken)


class AcmeError(PlatformError):
    def __init__(self, message, *, status=400, code="invalid", headers=None):
        super().__init__(message, status=status, headers=headers)
        self.code = code

    def body(self):
        return {"error": {"code": self.code, "message": self.message}}


class AcmeAPI(SandboxAPI):
    name = "acme"
    error = AcmeError
    caller_argument = "shop"
    rate_windows = (RateWindow("window", 60), RateWindow("second", 1, enforced=False))

    def authenticate(self, request, *, scope):
        token = bearer_token(request)
        shop = AcmeShop.objects.filter(token=token).first() if token else None
        if shop is None:
            granted = oauth.access_token_live(token)
            shop = granted.account if granted is not None else None
        if shop is None:
            raise AcmeError("unknown token", status=401, code="unauthorized")
        return shop

    def fault_account(self, request, caller):
        if caller is not None:
            return caller.shop_id
        token = bearer_token(request)
        return next(
            iter(AcmeShop.objects.filter(token=token).values_list("shop_id", flat=True)), ""
        )

    def rate_limits(self, caller):
        limit = caller.requests_per_window if caller is not None else 1000
        return {"window": limit, "second": 5}

    def rate_headers(self, usage):
        window = usage["window"]
        return {"X-Acme-Limit": str(window.limit), "X-Acme-Remaining": str(window.remaining)}


class AcmeFirstAPI(AcmeAPI):
    """The same platform, authenticating before anything is counted or faulted."""

    name = "acme-first"
    authenticate_first = True


api = AcmeAPI()
first_api = AcmeFirstAPI()


def _order_create(request, *, shop, body):
    AcmeShop.objects.filter(pk=shop.pk).update(orders_made=models.F("orders_made") + 1)
    return JsonResponse({"order": {"shop": shop.shop_id, **body}}, status=201)


def _order_fail(request, *, shop, body):
    raise AcmeError("that order is refused", status=422, code="refused")


order_create_view = api.endpoint("create_order")(_order_create)
order_fail_view = api.endpoint("fail_order")(_order_fail)
first_order_create_view = first_api.endpoint("create_order")(_order_create)
control_view = api.endpoint(faulted=False, counted=False)(
    lambda request, *, shop, body: JsonResponse({"shop": shop.shop_id})
)


class AcmeOAuth(OAuthServer):
    code_model = AcmeAuthorizationCode
    token_model = AcmeAccessToken
    access_token_lifetime = timedelta(hours=2)
    refresh_token_lifetime = timedelta(days=60)
    refresh_rotates = True

    def app(self, client_id):
        shop = AcmeShop.objects.filter(client_id=client_id).first() if client_id else None
        if shop is None:
            return None
        return OAuthApp(
            client_id=shop.client_id,
            client_secret=shop.client_secret,
            redirect_uri=REDIRECT_URI,
            account=shop,
        )

    def fail(self, failure: OAuthFailure, *, field=""):
        error = super().fail(failure, field=field)
        return AcmeError(error.message, status=error.status, code=str(failure))


oauth = AcmeOAuth(api)

urlpatterns = api.urls(
    route("v1/orders", "orders", POST=order_create_view),
    route("v1/orders/fail", "orders-fail", POST=order_fail_view),
    route("oauth/authorize", "authorize", GET=oauth.authorize_view),
    route("oauth/token", "token", POST=oauth.token_view),
    api.faults_route(),
)
