"""Tenant API for invoices: list and detail, the FIRS JSON and QR images as files, and the
re-drive and mark-paid actions. Every lookup is scoped to the caller's organization inside the
query, so another tenant's invoice answers 404 exactly like a missing one (reliability T1)."""

import json

from django.http import HttpResponse
from django.utils.http import content_disposition_header
from django_filters import rest_framework as filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import exceptions, mixins, permissions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.response import Response

from accounts.selectors import membership_get
from invoices import operations, qr, selectors, services
from invoices.firs.errors import FirsError, FirsTransientError
from invoices.models import (
    Invoice,
    InvoiceLine,
    InvoiceParty,
    InvoiceStatusChange,
    InvoiceTaxSubtotal,
)
from taxpoynt.api import (
    Conflict,
    ErrorSerializer,
    OrganizationContextMixin,
    ServiceUnavailable,
    declares_errors,
)

# --- Serializers ------------------------------------------------------------------------------


class InvoiceLineSerializer(serializers.ModelSerializer):
    class Meta:
        model = InvoiceLine
        fields = [
            "position",
            "name",
            "hs_code",
            "quantity",
            "price_amount",
            "line_extension_amount",
        ]
        read_only_fields = fields


class InvoiceTaxSubtotalSerializer(serializers.ModelSerializer):
    class Meta:
        model = InvoiceTaxSubtotal
        fields = ["category", "percent", "taxable_amount", "tax_amount"]
        read_only_fields = fields


class InvoicePartySerializer(serializers.ModelSerializer):
    # A plain string: as an enum it would collide with Membership.role in the schema's enum names.
    role = serializers.CharField(read_only=True, help_text="supplier or customer")

    class Meta:
        model = InvoiceParty
        fields = ["role", "name", "tin", "email", "telephone", "address"]
        read_only_fields = fields


class InvoiceStatusChangeSerializer(serializers.ModelSerializer):
    class Meta:
        model = InvoiceStatusChange
        fields = ["from_status", "to_status", "note", "at"]
        read_only_fields = fields


class InvoiceProblemSerializer(serializers.Serializer):
    path = serializers.CharField(
        help_text="Where in the FIRS payload; empty for the whole invoice."
    )
    message = serializers.CharField()


class InvoiceListSerializer(serializers.ModelSerializer):
    class Meta:
        model = Invoice
        fields = [
            "id",
            "irn",
            "number",
            "status",
            "stage",
            "source_type",
            "source_id",
            "source_reference",
            "kind",
            "purpose",
            "currency",
            "issue_date",
            "payable_amount",
            "payment_status",
            "created_at",
            "signed_at",
            "confirmed_at",
        ]
        read_only_fields = fields


class InvoiceDetailSerializer(InvoiceListSerializer):
    problems = InvoiceProblemSerializer(many=True, read_only=True)
    lines = InvoiceLineSerializer(many=True, read_only=True)
    tax_subtotals = InvoiceTaxSubtotalSerializer(many=True, read_only=True)
    parties = InvoicePartySerializer(many=True, read_only=True)
    status_history = InvoiceStatusChangeSerializer(source="history", many=True, read_only=True)

    class Meta(InvoiceListSerializer.Meta):
        fields = [
            *InvoiceListSerializer.Meta.fields,
            "type_code",
            "billing_reference_irn",
            "issue_time",
            "line_extension_amount",
            "tax_exclusive_amount",
            "tax_amount",
            "tax_inclusive_amount",
            "problems",
            "attempts",
            "next_attempt_at",
            "qr_stamp",
            "updated_at",
            "validated_at",
            "transmitted_at",
            "paid_at",
            "lines",
            "tax_subtotals",
            "parties",
            "status_history",
        ]
        read_only_fields = fields


class MarkPaidSerializer(serializers.Serializer):
    reference = serializers.CharField(
        max_length=255,
        required=False,
        allow_blank=True,
        default="",
        help_text="The payment's reference, passed on to FIRS.",
    )


# --- Filters, permissions, errors -------------------------------------------------------------


class InvoiceFilter(filters.FilterSet):
    issue_date = filters.DateFromToRangeFilter(help_text="issue_date_after / issue_date_before")

    class Meta:
        model = Invoice
        fields = [
            "status",
            "stage",
            "source_type",
            "source_id",
            "source_reference",
            "kind",
            "payment_status",
            "issue_date",
            "irn",
        ]


class CanOperateInvoices(permissions.BasePermission):
    message = "Viewers cannot act on invoices."

    def has_permission(self, request, view):
        membership = membership_get(user=request.user, organization=view.organization)
        return membership is not None and membership.can_operate


class FirsRefused(exceptions.APIException):
    status_code = status.HTTP_502_BAD_GATEWAY
    default_detail = "FIRS refused the update."
    default_code = "firs_refused"


class FirsUnavailable(ServiceUnavailable):
    default_detail = "FIRS is not answering right now; try again later."
    default_code = "firs_unavailable"


def _firs_errors(func):
    """Turn what the invoice services raise into API answers."""
    try:
        return func()
    except ValueError as exc:
        raise Conflict(str(exc)) from exc
    except FirsTransientError as exc:
        raise FirsUnavailable(
            f"FIRS is not answering right now; try again later. ({exc})",
            retry_after=exc.retry_after,
        ) from exc
    except FirsError as exc:
        raise FirsRefused(f"FIRS refused: {exc}") from exc


class FileContentNegotiation(DefaultContentNegotiation):
    """The file routes answer their own media type whatever the client accepts (an <img> asks for
    image/*); only their errors go through a renderer, as JSON, instead of a 406."""

    def select_renderer(self, request, renderers, format_suffix=None):
        try:
            return super().select_renderer(request, renderers, format_suffix)
        except exceptions.NotAcceptable:
            return renderers[0], renderers[0].media_type


def _file_response(content, *, content_type: str, filename: str, as_attachment: bool):
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = content_disposition_header(
        as_attachment=as_attachment, filename=filename
    )
    return response


NOT_FOUND = OpenApiResponse(ErrorSerializer, description="No such invoice in this organization.")


# --- Views ------------------------------------------------------------------------------------


class InvoiceViewSet(
    OrganizationContextMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """The e-invoices of the caller's organization, newest first."""

    lookup_value_regex = r"\d+"
    filterset_class = InvoiceFilter
    # For the schema generator only; requests always go through get_queryset.
    queryset = Invoice.objects.none()

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return self.queryset
        invoices = selectors.invoice_list(organization=self.organization)
        if self.action == "retrieve":
            return invoices.prefetch_related("lines", "tax_subtotals", "parties", "history")
        return invoices

    def get_serializer_class(self):
        return InvoiceListSerializer if self.action == "list" else InvoiceDetailSerializer

    def get_permissions(self):
        if self.action in ("redrive", "mark_paid"):
            return [permissions.IsAuthenticated(), CanOperateInvoices()]
        return super().get_permissions()

    @extend_schema(responses={200: InvoiceDetailSerializer, 404: NOT_FOUND})
    def retrieve(self, request, *args, **kwargs):
        """One invoice with its lines, tax subtotals, parties and status history."""
        return super().retrieve(request, *args, **kwargs)

    @extend_schema(
        request=None,
        responses={
            202: InvoiceDetailSerializer,
            403: OpenApiResponse(ErrorSerializer, description="Viewers cannot re-drive."),
            404: NOT_FOUND,
            409: OpenApiResponse(
                ErrorSerializer,
                description="Confirmed already, or a worker is on it right now.",
            ),
        },
    )
    @action(detail=True, methods=["post"])
    def redrive(self, request, pk=None):
        """Put the invoice back on its queue from its last step, e.g. once what stopped it (see
        ``problems``) is fixed. Answers at once; the invoice moves on in the background."""
        invoice = self.get_object()
        if operations.invoice_is_busy(invoice):
            raise Conflict("A worker is taking this invoice to FIRS right now; try again later.")
        if not services.invoice_redrive(invoice=invoice, actor=request.user):
            raise Conflict("This invoice is confirmed by FIRS; there is nothing to re-drive.")
        invoice.refresh_from_db()
        return Response(self.get_serializer(invoice).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(
        request=MarkPaidSerializer,
        responses={
            200: InvoiceDetailSerializer,
            403: OpenApiResponse(ErrorSerializer, description="Viewers cannot mark paid."),
            404: NOT_FOUND,
            409: OpenApiResponse(ErrorSerializer, description="FIRS has not signed it."),
        },
    )
    @declares_errors(FirsRefused, FirsUnavailable)
    @action(detail=True, methods=["post"], url_path="mark-paid")
    def mark_paid(self, request, pk=None):
        """Tell FIRS the invoice is paid (a synchronous FIRS call), then record it."""
        invoice = self.get_object()
        payload = MarkPaidSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        invoice = _firs_errors(
            lambda: services.invoice_mark_paid(
                invoice=invoice,
                actor=request.user,
                reference=payload.validated_data["reference"],
            )
        )
        return Response(self.get_serializer(invoice).data)

    # The file routes are mounted in invoices/urls.py, with FileContentNegotiation.

    @extend_schema(
        operation_id="v1_invoices_firs_json",
        responses={
            (200, "application/json"): OpenApiTypes.OBJECT,
            404: OpenApiResponse(
                ErrorSerializer, description="No such invoice, or it could not be built."
            ),
        },
    )
    def firs_json(self, request, pk=None):
        """The FIRS invoice JSON, as sent to FIRS, as a download named after the IRN."""
        invoice = self.get_object()
        if not invoice.payload:
            raise exceptions.NotFound(
                "This invoice has no FIRS payload: it could not be built (see its problems)."
            )
        return _file_response(
            json.dumps(invoice.payload, indent=2, ensure_ascii=False),
            content_type="application/json",
            filename=f"{invoice.irn}.json",
            as_attachment=True,
        )

    @extend_schema(
        operation_id="v1_invoices_qr_png",
        responses={
            (200, "image/png"): OpenApiTypes.BINARY,
            404: OpenApiResponse(
                ErrorSerializer, description="No such invoice, or no QR stamp yet."
            ),
        },
    )
    def qr_png(self, request, pk=None):
        """The invoice's QR stamp (given when FIRS signs it) as a PNG image, for printing."""
        invoice = self._stamped_invoice()
        return _file_response(
            qr.qr_png(data=invoice.qr_stamp),
            content_type="image/png",
            filename=f"{invoice.irn}.png",
            as_attachment=False,
        )

    @extend_schema(
        operation_id="v1_invoices_qr_svg",
        responses={
            (200, "image/svg+xml"): OpenApiTypes.BINARY,
            404: OpenApiResponse(
                ErrorSerializer, description="No such invoice, or no QR stamp yet."
            ),
        },
    )
    def qr_svg(self, request, pk=None):
        """The invoice's QR stamp (given when FIRS signs it) as an SVG image, for printing."""
        invoice = self._stamped_invoice()
        return _file_response(
            qr.qr_svg(data=invoice.qr_stamp),
            content_type="image/svg+xml",
            filename=f"{invoice.irn}.svg",
            as_attachment=False,
        )

    def _stamped_invoice(self) -> Invoice:
        invoice = self.get_object()
        if not invoice.qr_stamp:
            raise exceptions.NotFound(
                "This invoice has no QR stamp yet: it gets one when FIRS signs it (and the "
                "organization's FIRS public key and certificate are set)."
            )
        return invoice
