"""Tenant pages every integration family shares: the Integrations page, a connection's actions on
it (connect, disconnect, test, back-fill) and its sync runs' progress, and what the families' own
pages have in common (the dashboard, filtered lists paged by keyset, htmx partials).

Every read starts from the organization (integrations.base.page_selectors and the families'
page_selectors), so another organization's object answers 404 exactly like a missing one. Roles
follow the API: owners and admins manage connections (connect, disconnect, settings); everyone
but viewers operates them (test, sync, back-fill, retry); viewers read.
"""

import math
from collections.abc import Callable
from datetime import datetime, timedelta
from uuid import UUID

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import BadRequest, ObjectDoesNotExist, PermissionDenied
from django.db.models import QuerySet
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.utils.decorators import method_decorator
from django.utils.module_loading import import_string
from django.views.decorators.http import require_POST

from accounts.views import tenant_page
from catalog import selectors as catalog_selectors
from integrations.base import connections as connection_services
from integrations.base import families as family_registry
from integrations.base import page_selectors, pipeline, registry, sandbox_accounts
from integrations.base.connectors import CredentialsConnector, OAuthConnector
from integrations.base.errors import ConnectorError
from integrations.base.models import ConnectionBase, SyncRun

CHART_HEIGHT = 160
CHART_SLOT = 30
CHART_BAR = 11
# Room left of the bars for the y-axis's tick labels.
CHART_AXIS_WIDTH = 36
CHART_MAX_TICKS = 5


# --- Forms --------------------------------------------------------------------------------------


class ConnectForm(forms.Form):
    method = forms.ChoiceField(
        choices=[
            ("oauth", "The platform's OAuth"),
            ("sandbox", "A fresh sandbox account"),
            ("sandbox_oauth", "OAuth against our sandbox of the platform"),
            ("credentials", "The platform's API key or client credentials"),
        ]
    )


def credentials_form(connector: type[CredentialsConnector], data=None) -> forms.Form:
    """The fields a platform that connects with credentials asks for; secrets in password
    inputs that never show a value back."""
    fields = {
        field.name: forms.CharField(
            label=field.label,
            max_length=connection_services.CREDENTIAL_MAX_LENGTH,
            help_text=field.help_text,
            widget=forms.PasswordInput(render_value=False) if field.secret else forms.TextInput,
        )
        for field in connector.credential_fields
    }
    form_class = type(f"{connector.__name__}CredentialsForm", (forms.Form,), fields)
    return form_class(data, auto_id=f"credentials-{connector.key}-%s")


class BackfillForm(forms.Form):
    # A date input takes ISO dates only; the locale's format would leave it empty.
    date_from = forms.DateField(
        label="From", widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    date_to = forms.DateField(
        label="To", widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )

    def clean(self):
        data = super().clean()
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and start > end:
            raise forms.ValidationError("The first day must not be after the last.")
        if start and start > timezone.localdate():
            self.add_error("date_from", "The back-fill cannot start in the future.")
        return data

    def window(self, *, now: datetime) -> tuple[datetime, datetime]:
        """From the first day's local midnight to the end of the last day, or now if sooner."""
        start = page_selectors.local_midnight(self.cleaned_data["date_from"])
        end = page_selectors.local_midnight(self.cleaned_data["date_to"] + timedelta(days=1))
        return start, min(end, now)


def either_filter(*, yes: str, no: str) -> forms.NullBooleanField:
    """A filter that is off (any), yes or no. Optional: a required one would render ``required``
    on its select, and the browser (and htmx) would refuse to send the form while it says
    "Any"."""
    return forms.NullBooleanField(
        required=False,
        widget=forms.Select(choices=[("", "Any"), ("true", yes), ("false", no)]),
    )


class RowFilterForm(forms.Form):
    """The filters of every family's list of rows; a subclass names its ``family`` and adds
    its own."""

    family: str

    platform = forms.ChoiceField(required=False)
    date_from = forms.DateField(
        label="From", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(
        label="To", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    # Keyset cursor: "<timestamp>|<id>" of the last row of the previous page.
    before = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["platform"].choices = [
            ("", "Any platform"),
            *((key, c.display_name) for key, c in sorted(registry.for_family(self.family).items())),
        ]

    def clean_before(self) -> tuple[datetime, UUID] | None:
        value = self.cleaned_data["before"]
        if not value:
            return None
        try:
            timestamp, row_id = value.split("|")
            return datetime.fromisoformat(timestamp), UUID(row_id)
        except ValueError:
            raise forms.ValidationError("Not a page of this list.") from None


# --- Integrations page --------------------------------------------------------------------------


@tenant_page
def integrations(request):
    return integrations_page(request)


def integrations_page(request, *, bound: dict | None = None, status: int = 200):
    """The page, with the bound forms (keyed by (connection id, "settings" or "backfill"), or
    (platform key, "credentials")) of a submission that did not validate in place of fresh
    ones."""
    bound = bound or {}
    families = page_selectors.integration_families(organization=request.organization)
    for family in families:
        for platform in family.platforms:
            connector = registry.get(platform.key)
            if issubclass(connector, CredentialsConnector):
                form = bound.get((platform.key, "credentials"))
                platform.credentials_form = form or credentials_form(connector)
            for connection in platform.connections:
                if family_registry.get(family.name).card_settings_form:
                    settings_form = bound.get((connection.pk, "settings"))
                    connection.settings_form = settings_form or card_settings_form(connection)
                backfill_form = bound.get((connection.pk, "backfill"))
                connection.backfill_form = backfill_form or connection_backfill_form(connection)
    return render(
        request,
        "integrations/integrations.html",
        {"families": families, "sandbox_enabled": settings.SANDBOX_ENABLED},
        status=status,
    )


def card_settings_form(connection: ConnectionBase, data=None) -> forms.ModelForm:
    # By dotted path: the families' views import this module.
    form_class = import_string(family_registry.get(connection.family).card_settings_form)
    return form_class(data, instance=connection, auto_id=f"settings-{connection.pk}-%s")


def connection_backfill_form(connection: ConnectionBase, data=None) -> BackfillForm:
    today = timezone.localdate()
    return BackfillForm(
        data,
        auto_id=f"backfill-{connection.pk}-%s",
        initial={"date_from": today - timedelta(days=7), "date_to": today},
    )


# --- Connections --------------------------------------------------------------------------------


class ConnectionRenameForm(forms.Form):
    name = forms.CharField(
        required=False,
        max_length=connection_services.CONNECTION_NAME_MAX_LENGTH,
        help_text="Your own name for this connection, as shown on every page. Empty: the "
        "platform's name.",
    )


class ConnectionPages:
    """A family's connection actions on the Integrations page and its sync run page. One
    instance in each family's views, its methods routed by the family's page_urls; a subclass
    names the family and what else viewers cannot act on, and adds its own
    actions (settings, sync now)."""

    family: str
    # What viewers cannot act on besides connections, plural ("transactions").
    rows_name: str

    @property
    def pages(self) -> page_selectors.FamilyPages:
        return page_selectors.FAMILY_PAGES[self.family]

    def sandbox_connection_create(self, *, platform: str, organization, user, site_url: str):
        return sandbox_accounts.connection_sandbox_create(
            family=self.family,
            platform=platform,
            organization=organization,
            user=user,
            site_url=site_url,
        )

    def sandbox_account_name(self, connection: ConnectionBase) -> str:
        """How "Connected a ... sandbox account (name)." names it; empty for no name."""
        return connection.account_id

    def disconnected_name(self, connection: ConnectionBase) -> str:
        return str(connection)

    def connection_get(self, request, connection_id: UUID) -> ConnectionBase:
        return found_or_404(
            page_selectors.connection_get,
            organization=request.organization,
            family=self.family,
            connection_id=connection_id,
        )

    @method_decorator([tenant_page, require_POST])
    def connect(self, request, platform: str):
        """Connect at once to a fresh sandbox account or with the credentials typed in (tried
        against the platform first), or send the browser to the platform's (or our sandbox's)
        OAuth authorize page."""
        require_manager(request)
        connector = registry.for_family(self.family).get(platform)
        if connector is None:
            raise Http404(f"No {self.family.upper()} platform {platform!r}.")
        form = ConnectForm(request.POST)
        if not form.is_valid() or form.cleaned_data["method"] not in connect_methods(connector):
            raise BadRequest("No such way to connect.")
        method = form.cleaned_data["method"]
        site_url = request.build_absolute_uri("/").rstrip("/")
        fields = {"platform": platform, "organization": request.organization, "user": request.user}
        try:
            if method == "credentials":
                return self._credentials_connect(request, connector, site_url=site_url)
            if method != "sandbox":
                return redirect(
                    oauth_start_url(
                        request,
                        family=self.family,
                        platform=platform,
                        site_url=site_url,
                        sandbox=method == "sandbox_oauth",
                        login_host=request.POST.get("login_host", "").strip()[:200],
                    )
                )
            connection = self.sandbox_connection_create(**fields, site_url=site_url)
        except connection_services.ConnectError as error:
            messages.error(request, str(error))
            return redirect("pos:integrations")
        name = self.sandbox_account_name(connection)
        account = f" ({name})" if name else ""
        messages.success(request, f"Connected a {connector.display_name} sandbox account{account}.")
        return back_to(connection)

    def _credentials_connect(self, request, connector, *, site_url: str):
        form = credentials_form(connector, data=request.POST)
        if not form.is_valid():
            return integrations_page(
                request, bound={(connector.key, "credentials"): form}, status=400
            )
        try:
            connection = connection_services.connection_credentials_connect(
                family=self.family,
                platform=connector.key,
                organization=request.organization,
                user=request.user,
                credentials=form.cleaned_data,
                site_url=site_url,
            )
        except connection_services.ConnectError as error:
            form.add_error(None, str(error))
            unreachable = isinstance(error, connection_services.PlatformUnreachable)
            return integrations_page(
                request,
                bound={(connector.key, "credentials"): form},
                status=502 if unreachable else 400,
            )
        messages.success(request, f"Connected {connector.display_name}.")
        return back_to(connection)

    @method_decorator([tenant_page, require_POST])
    def rename(self, request, connection_id: UUID):
        require_manager(request)
        connection = self.connection_get(request, connection_id)
        form = ConnectionRenameForm(request.POST)
        if not form.is_valid():
            messages.error(request, " ".join(form.errors["name"]))
            return back_to(connection)
        connection_services.connection_rename(
            connection=connection, name=form.cleaned_data["name"], actor=request.user
        )
        messages.success(request, f"Renamed to {connection.name}.")
        return back_to(connection)

    @method_decorator([tenant_page, require_POST])
    def disconnect(self, request, connection_id: UUID):
        require_manager(request)
        connection = self.connection_get(request, connection_id)
        connection_services.connection_disconnect(connection=connection, actor=request.user)
        connection.refresh_from_db()
        if connection.last_error:  # revoking at the platform failed; we forgot the tokens anyway
            messages.warning(request, f"Disconnected. {connection.last_error}")
        else:
            messages.success(request, f"Disconnected {self.disconnected_name(connection)}.")
        return redirect("pos:integrations")

    @method_decorator([tenant_page, require_POST])
    def test(self, request, connection_id: UUID):
        require_operator(request, rows=self.rows_name)
        connection = self.connection_get(request, connection_id)
        try:
            pipeline.connection_test(connection=connection)
        except ConnectorError as error:
            messages.error(request, f"The test failed; the platform answered: {error}")
        else:
            messages.success(request, "The connection works.")
        return back_to(connection)

    @method_decorator([tenant_page, require_POST])
    def backfill(self, request, connection_id: UUID):
        require_operator(request, rows=self.rows_name)
        connection = self.connection_get(request, connection_id)
        form = connection_backfill_form(connection, data=request.POST)
        if not form.is_valid():
            return integrations_page(request, bound={(connection.pk, "backfill"): form}, status=400)
        start, end = form.window(now=timezone.now())
        run = pipeline.backfill_start(connection=connection, start=start, end=end)
        return redirect(f"{self.pages.namespace}:sync_run", sync_run_id=run.pk)

    @method_decorator(tenant_page)
    def sync_run(self, request, sync_run_id: UUID):
        """A run's progress; htmx polls this page for the progress part until the run ends."""
        run = found_or_404(
            page_selectors.sync_run_get,
            organization=request.organization,
            family=self.family,
            sync_run_id=sync_run_id,
        )
        context = {
            "run": run,
            "finished": run.status in (SyncRun.Status.SUCCEEDED, SyncRun.Status.FAILED),
            "platform_name": platform_name(run.platform),
            "rows_noun": self.pages.rows_noun,
            "rows_url": reverse(self.pages.rows_url_name),
        }
        if is_partial(request):
            template = "integrations/_sync_run_progress.html"
        else:
            template = "integrations/sync_run.html"
        return render_for_htmx(request, template, context)


def oauth_start_url(
    request, *, family: str, platform: str, site_url: str, sandbox: bool, login_host: str = ""
) -> str:
    """The authorize URL, with the one-time state bound to this browser session."""
    if request.session.session_key is None:
        request.session.save()
    return connection_services.oauth_start(
        family=family,
        platform=platform,
        organization=request.organization,
        user=request.user,
        session_key=request.session.session_key,
        redirect_uri=request.build_absolute_uri(
            reverse("oauth-callback", kwargs={"family": family, "platform": platform})
        ),
        sandbox_base_url=(
            sandbox_accounts.sandbox_base_url(site_url=site_url, platform=platform)
            if sandbox
            else ""
        ),
        login_host=login_host,
    )


def connect_methods(connector) -> set[str]:
    by_oauth = issubclass(connector, OAuthConnector)
    sandbox = sandbox_accounts.provisioner_for(connector.key) is not None
    return (
        ({"oauth"} if by_oauth else set())
        | ({"credentials"} if issubclass(connector, CredentialsConnector) else set())
        | ({"sandbox"} if sandbox else set())
        | ({"sandbox_oauth"} if sandbox and by_oauth else set())
    )


def back_to(connection: ConnectionBase):
    return redirect(f"{reverse('pos:integrations')}#connection-{connection.pk}")


# --- Dashboard ----------------------------------------------------------------------------------


class DashboardPeriodForm(forms.Form):
    period = forms.ChoiceField(
        label="Period",
        required=False,
        choices=[
            ("this_month", "This month"),
            ("last_month", "Last month"),
            ("custom", "Custom dates"),
        ],
    )
    period_from = forms.DateField(
        label="From", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    period_to = forms.DateField(
        label="To", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("period") == "custom":
            first_day, last_day = cleaned.get("period_from"), cleaned.get("period_to")
            if not (first_day and last_day):
                raise forms.ValidationError("Custom dates need both a first and a last day.")
            if first_day > last_day:
                raise forms.ValidationError("The first day comes after the last day.")
        return cleaned


def dashboard_view(template: str, figures: Callable[..., page_selectors.Dashboard]):
    """A family's dashboard page: ``figures(organization=..., now=..., period=...)`` shown by
    ``template``; the period is picked on the page (this month unless asked otherwise)."""

    @tenant_page
    def dashboard(request):
        now = timezone.now()
        form = DashboardPeriodForm(request.GET)
        chosen = form.cleaned_data if form.is_valid() else {}
        period = page_selectors.dashboard_period(
            now=now,
            choice=chosen.get("period") or "",
            first_day=chosen.get("period_from"),
            last_day=chosen.get("period_to"),
        )
        shown = figures(organization=request.organization, now=now, period=period)
        return render(
            request,
            template,
            {
                "summaries": shown.summaries,
                "period": period,
                "period_form": form,
                "latencies": shown.latencies,
                "latency_target": shown.latency_target,
                "chart": hourly_chart(shown.hours, series=shown.series),
                "tax_alerts": catalog_selectors.tax_alerts_summary(
                    organization=request.organization
                ),
            },
            status=200 if form.is_valid() else 400,
        )

    return dashboard


def chart_scale(peak: int) -> tuple[int, list[int]]:
    """The y-axis's top and its ticks for a chart whose tallest bar is ``peak``: steps of 1, 2 or
    5 times a power of ten, at most ``CHART_MAX_TICKS`` of them above zero."""
    step = 1
    while True:
        for multiple in (1, 2, 5):
            if math.ceil(peak / (step * multiple)) <= CHART_MAX_TICKS:
                step *= multiple
                top = max(1, math.ceil(peak / step)) * step
                return top, list(range(0, top + 1, step))
        step *= 10


def hourly_chart(hours: list[page_selectors.HourCounts], *, series: str) -> dict:
    """Bar geometry of the hourly chart: a bar of the counted rows and a signed-invoices bar per
    hour, right of a y-axis whose ticks count them. A bar's count is under ``count`` and under
    the series' own name ("sales", "won")."""
    peak = max([0, *(hour.count for hour in hours), *(hour.signed for hour in hours)])
    top, ticks = chart_scale(peak)
    bars = []
    for index, hour in enumerate(hours):
        count_height = round(hour.count / top * CHART_HEIGHT)
        signed_height = round(hour.signed / top * CHART_HEIGHT)
        left = CHART_AXIS_WIDTH + index * CHART_SLOT + 3
        bars.append(
            {
                "hour": hour.hour,
                "count": hour.count,
                series: hour.count,
                "signed": hour.signed,
                "count_x": left,
                "count_y": CHART_HEIGHT - count_height,
                "count_height": count_height,
                "signed_x": left + CHART_BAR + 2,
                "signed_y": CHART_HEIGHT - signed_height,
                "signed_height": signed_height,
                "label_x": left + CHART_BAR + 1,
                "labelled": index % 3 == 0,
            }
        )
    return {
        "series": series,
        "bars": bars,
        "peak": peak,
        "ticks": [
            {"value": value, "y": CHART_HEIGHT - round(value / top * CHART_HEIGHT)}
            for value in ticks
        ],
        "axis_x": CHART_AXIS_WIDTH,
        "tick_label_x": CHART_AXIS_WIDTH - 6,
        "width": CHART_AXIS_WIDTH + CHART_SLOT * len(hours),
        "height": CHART_HEIGHT,
        "bar_width": CHART_BAR,
    }


# --- Rows ---------------------------------------------------------------------------------------


def list_page(
    request,
    form: RowFilterForm,
    rows: QuerySet,
    *,
    ordered_by: str,
    size: int,
    name: str,
    templates: tuple[str, str],
):
    """A page of ``rows`` (filtered by ``form``, validated), newest first by ``ordered_by``, as
    ``name`` in the context. ``templates`` are the whole page and its results part: htmx
    filtering swaps the results only; a history restore needs the whole page."""
    page, next_before = page_selectors.keyset_page(
        rows, ordered_by=ordered_by, before=form.cleaned_data.get("before"), size=size
    )
    context = {
        "form": form,
        name: with_platform_names(page),
        **page_queries(request.GET, next_before),
    }
    page_template, results_template = templates
    return render_for_htmx(
        request, results_template if is_partial(request) else page_template, context
    )


def row_context(name: str, row) -> dict:
    """What every row's page shows: the row (as ``name``, its platform named), its invoice and
    its errors."""
    return {
        name: with_platform_names([row])[0],
        "invoice": row.invoice,
        "errors": processing_errors(row.processing_errors),
    }


def page_queries(query, next_before: tuple[datetime, UUID] | None) -> dict:
    """Query strings of the first and the next page, keeping the filters; None where there is
    no such page to go to."""
    first, following = query.copy(), query.copy()
    first.pop("before", None)
    if next_before is not None:
        timestamp, row_id = next_before
        following["before"] = f"{timestamp.isoformat()}|{row_id}"
    return {
        "first_page_query": first.urlencode() if "before" in query else None,
        "next_page_query": following.urlencode() if next_before is not None else None,
    }


def processing_errors(errors: dict | None) -> list[str]:
    """The stored errors as sentences: a failure message, or the invoice's problems."""
    if not errors:
        return []
    sentences = [errors["error_message"]] if errors.get("error_message") else []
    for problem in errors.get("problems", []):
        path = problem.get("path")
        sentences.append(f"{path}: {problem['message']}" if path else problem["message"])
    return sentences


def with_platform_names(rows: list) -> list:
    for row in rows:
        row.platform_name = platform_name(row.connection.platform)
    return rows


# --- Shared -------------------------------------------------------------------------------------


def require_manager(request) -> None:
    if not request.membership.can_manage:
        raise PermissionDenied("Only owners and admins manage connections.")


def require_operator(request, *, rows: str) -> None:
    if not request.membership.can_operate:
        raise PermissionDenied(f"Viewers cannot act on connections or {rows}.")


def found_or_404(get: Callable, **lookup):
    """``get(**lookup)``, or 404 when it finds nothing (or only another organization's)."""
    try:
        return get(**lookup)
    except ObjectDoesNotExist as exc:
        raise Http404 from exc


def is_partial(request) -> bool:
    return bool(request.htmx) and not request.htmx.history_restore_request


def render_for_htmx(request, template: str, context: dict):
    """A page whose answer depends on whether htmx asked: caches keep the two apart."""
    response = render(request, template, context)
    patch_vary_headers(response, ("HX-Request",))
    return response


def platform_name(key: str) -> str:
    try:
        return registry.get(key).display_name
    except KeyError:  # a platform since removed from the registry
        return key
