"""T1: the cross-tenant matrix over every route that takes an object id.

The cases are generated from the URL resolver: every route (pages, API, webhooks; the admin is
T2's) with an id in its path is called by organization A's owner with organization B's ids, with
each method. Nothing may succeed (2xx), and B's rows stay as they were. A route whose id this
module cannot fill with one of B's objects fails the suite, so a new route comes with its case.
"""

import json
import random
import re
import statistics
import time
import uuid

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from accounts.api_tokens.services import api_token_create
from accounts.models import Membership
from catalog.models import ProductClassification
from integrations.base.models import SyncRun
from tests.factories import (
    CRMConnectionFactory,
    CRMDealFactory,
    ERPConnectionFactory,
    ERPDocumentFactory,
    InvitationFactory,
    InvoiceFactory,
    MembershipFactory,
    POSConnectionFactory,
    POSTransactionFactory,
)

pytestmark = pytest.mark.django_db

METHODS = ("get", "post", "put", "patch", "delete")
# T2 walks the admin; the sandboxes are the outside world's simulators, not tenant routes.
SKIPPED_PREFIXES = ("admin/", "sandbox/")
# Path parameters that name no object of a tenant: filled with a valid value.
PLAIN_PARAMETERS = {"family": "pos", "platform": "square", "secret": "not-the-secret"}
FAMILY_OF_NAMESPACE = {"pos": "pos", "crm": "crm", "erp": "erp"}


def _routes():
    """(path template, route name, path parameters) of every route, resolvers walked."""
    found = []

    def walk(resolver, prefix, namespace):
        for entry in resolver.url_patterns:
            if isinstance(entry, URLResolver):
                inner = namespace
                if entry.namespace:
                    inner = f"{namespace}:{entry.namespace}" if namespace else entry.namespace
                walk(entry, prefix + str(entry.pattern), inner)
            elif isinstance(entry, URLPattern):
                name = f"{namespace}:{entry.name}" if namespace else (entry.name or "")
                parameters = list(entry.pattern.regex.groupindex)
                found.append((prefix + str(entry.pattern), name, parameters))

    walk(get_resolver(), "", "")
    return found


def _has_object_id(parameters) -> bool:
    return any(name == "pk" or name.endswith(("_id", "_pk")) for name in parameters)


def _world_b(org_b):
    """One of each object organization B owns."""
    owner = MembershipFactory(organization=org_b, role=Membership.Role.OWNER).user
    pos = POSConnectionFactory(organization=org_b)
    crm = CRMConnectionFactory(organization=org_b)
    erp = ERPConnectionFactory(organization=org_b)
    runs = {
        family: SyncRun.objects.create(
            family=family,
            platform=platform,
            connection_id=connection.id,
            organization=org_b,
            kind=SyncRun.Kind.INCREMENTAL,
        )
        for family, platform, connection in (
            ("pos", "square", pos),
            ("crm", "hubspot", crm),
            ("erp", "ledgerly", erp),
        )
    }
    return {
        "organization": org_b,
        "membership": MembershipFactory(organization=org_b),
        "invitation": InvitationFactory(organization=org_b),
        "api_token": api_token_create(user=owner, name="bridge").token,
        "invoice": InvoiceFactory(organization=org_b, stage="signed", status="needs_attention"),
        "classification": ProductClassification.objects.create(
            organization=org_b, platform="square", item_key="rice", name="Rice"
        ),
        "pos_connection": pos,
        "crm_connection": crm,
        "erp_connection": erp,
        "pos_transaction": POSTransactionFactory(connection=pos, status="failed"),
        "crm_deal": CRMDealFactory(connection=crm, status="failed"),
        "erp_document": ERPDocumentFactory(connection=erp, status="failed"),
        "pos_sync_run": runs["pos"],
        "crm_sync_run": runs["crm"],
        "erp_sync_run": runs["erp"],
    }


# An API route's ``pk`` by the router's basename (the route name before "-detail", "-retry"...).
PK_BY_BASENAME = {
    "organization": "organization",
    "organization-member": "membership",
    "organization-invitation": "invitation",
    "invoice": "invoice",
    "pos-connection": "pos_connection",
    "pos-transaction": "pos_transaction",
    "pos-sync-run": "pos_sync_run",
    "crm-connection": "crm_connection",
    "crm-deal": "crm_deal",
    "crm-sync-run": "crm_sync_run",
    "erp-connection": "erp_connection",
    "erp-document": "erp_document",
    "erp-sync-run": "erp_sync_run",
}
# A page's id parameter; "{family}" is the route's namespace (pos, crm, erp).
OBJECT_BY_PARAMETER = {
    "organization_pk": "organization",
    "membership_id": "membership",
    "invitation_id": "invitation",
    "token_id": "api_token",
    "invoice_id": "invoice",
    "classification_id": "classification",
    "connection_id": "{family}_connection",
    "transaction_id": "pos_transaction",
    "deal_id": "crm_deal",
    "document_id": "erp_document",
    "sync_run_id": "{family}_sync_run",
}


def _object_for(name: str, parameter: str, path: str) -> str | None:
    """Which of B's objects fills ``parameter`` of the route ``name``, or None if unknown."""
    namespace = name.split(":")[0] if ":" in name else ""
    family = FAMILY_OF_NAMESPACE.get(namespace) or next(
        (f for f in ("pos", "crm", "erp") if f"/{f}/" in f"/{path}"), None
    )
    if parameter == "pk":
        basename = max(
            (b for b in PK_BY_BASENAME if name.startswith(f"{b}-")), key=len, default=None
        )
        return PK_BY_BASENAME.get(basename)
    key = OBJECT_BY_PARAMETER.get(parameter)
    if key is None:
        return None
    if "{family}" in key:
        if name.startswith("webhooks:"):
            family = "pos"
        return key.format(family=family) if family else None
    return key


def _built(world) -> tuple[list[tuple[str, str]], list[str]]:
    """(route name, URL) of every route with an id, filled with ``world``'s objects; and the
    routes this module cannot fill."""
    built, unfilled = [], []
    for path, name, parameters in _routes():
        if path.startswith(SKIPPED_PREFIXES) or not _has_object_id(parameters):
            continue
        values = {}
        for parameter in parameters:
            if parameter in PLAIN_PARAMETERS:
                values[parameter] = PLAIN_PARAMETERS[parameter]
                continue
            key = _object_for(name, parameter, path)
            if key is None:
                unfilled.append(f"{name or path}: {parameter}")
                break
            values[parameter] = world[key].pk
        else:
            if name.startswith("webhooks:"):
                values["platform"] = world["pos_connection"].platform
            built.append((name, reverse(name, kwargs=values)))
    return built, unfilled


@pytest.fixture
def cases(org_b):
    world = _world_b(org_b)
    built, unfilled = _built(world)
    assert unfilled == [], "routes with an id this module cannot fill: " + ", ".join(unfilled)
    return built, world


def _snapshot(world) -> dict:
    rows = {}
    for key, row in world.items():
        fields = {
            f.attname: getattr(type(row)._default_manager.get(pk=row.pk), f.attname)
            for f in row._meta.concrete_fields
            if f.name not in ("updated_at", "last_used_at")
        }
        rows[key] = json.dumps(fields, default=str, sort_keys=True)
    return rows


def test_no_route_serves_another_organizations_object(client, owner_a, cases):
    built, world = cases
    client.force_login(owner_a)
    before = _snapshot(world)
    succeeded, statuses = [], {}
    for name, url in built:
        for method in METHODS:
            if method == "get":
                answer = client.get(url)
            else:
                answer = getattr(client, method)(url, data="{}", content_type="application/json")
            statuses[answer.status_code] = statuses.get(answer.status_code, 0) + 1
            if 200 <= answer.status_code < 300:
                succeeded.append(f"{method.upper()} {url} ({name}): {answer.status_code}")
    total = len(built) * len(METHODS)
    print(
        f"T1 cross-tenant 2xx {len(succeeded)} of {total} "
        f"({len(built)} routes x {len(METHODS)} methods; answers {dict(sorted(statuses.items()))})"
    )
    assert succeeded == [], "\n".join(succeeded)
    assert _snapshot(world) == before


def test_every_route_with_an_id_is_in_the_matrix(cases):
    built, _ = cases
    with_ids = [
        path
        for path, _, parameters in _routes()
        if not path.startswith(SKIPPED_PREFIXES) and _has_object_id(parameters)
    ]
    assert len(built) == len(with_ids) > 0


class _Missing:
    """An id of the same kind as ``row``'s that no row has."""

    def __init__(self, row):
        self.pk = uuid.uuid4() if isinstance(row.pk, uuid.UUID) else 2_000_000_000 + row.pk
        self.platform = getattr(row, "platform", "")


# The timing oracle: pairs of probes over the matrix's routes, "another organization's id"
# against "no such id", in random order; the medians must not tell them apart.
TIMING_PROBES = 1000
TIMING_MEDIAN_LIMIT_MS = 5.0
# What differs between two renderings of one page whatever the id: tokens and nonces.
PER_RESPONSE = re.compile(r'(csrfmiddlewaretoken" value="|X-CSRFToken": "|nonce=")[^"]+"')


def _answer(client, url: str) -> tuple[float, int, str]:
    started = time.perf_counter()
    answer = client.get(url)
    elapsed_ms = (time.perf_counter() - started) * 1000
    return elapsed_ms, answer.status_code, PER_RESPONSE.sub(r"\1", answer.content.decode())


def test_another_organizations_id_answers_like_a_missing_one(client, owner_a, cases):
    built, world = cases
    missing_built, _ = _built({key: _Missing(row) for key, row in world.items()})
    assert [name for name, _ in missing_built] == [name for name, _ in built]
    client.force_login(owner_a)
    pairs = list(zip((url for _, url in built), (url for _, url in missing_built), strict=True))
    rng = random.Random(1)
    other_ms, missing_ms, differing = [], [], set()
    for other, missing in pairs:  # warm every route's code path once
        client.get(other), client.get(missing)
    for probe in range(TIMING_PROBES):
        other, missing = pairs[probe % len(pairs)]
        order = [("other", other), ("missing", missing)]
        rng.shuffle(order)
        answers = dict((kind, _answer(client, url)) for kind, url in order)
        other_ms.append(answers["other"][0])
        missing_ms.append(answers["missing"][0])
        if answers["other"][1:] != answers["missing"][1:]:
            differing.add(f"{other} vs {missing}: {answers['other'][1]} / {answers['missing'][1]}")
    difference = statistics.median(other_ms) - statistics.median(missing_ms)
    print(
        f"T1 timing: median {statistics.median(other_ms):.2f} ms for another organization's id, "
        f"{statistics.median(missing_ms):.2f} ms for a missing id (difference {difference:+.2f} "
        f"ms over {TIMING_PROBES} probes of {len(pairs)} routes); answers differing "
        f"{len(differing)}"
    )
    assert sorted(differing) == []
    assert abs(difference) < TIMING_MEDIAN_LIMIT_MS
