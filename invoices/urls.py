from django.urls import path
from rest_framework.routers import SimpleRouter

from invoices.api import FileContentNegotiation, InvoiceViewSet

router = SimpleRouter()
router.register("invoices", InvoiceViewSet, basename="invoice")


def _file_route(name: str, method: str):
    # File routes end in the file's name, with no trailing slash, unlike the router's.
    return path(
        f"invoices/<int:pk>/{name}",
        InvoiceViewSet.as_view({"get": method}, content_negotiation_class=FileContentNegotiation),
        name=f"invoice-{name.replace('.', '-')}",
    )


urlpatterns = [
    *router.urls,
    _file_route("firs.json", "firs_json"),
    _file_route("qr.png", "qr_png"),
    _file_route("qr.svg", "qr_svg"),
]
