"""S1: the secret canary scan, over the full webhook -> invoice path on a real Celery worker.

A tenant's secrets are unique canaries: the FIRS API key and secret, the Square connection's
webhook signature key and access token, our app's client secret, a secret typed into a refused
connect, an access token a refusing platform echoes back, and the field-encryption key. A
completed Square order's signed delivery goes to the connection's webhook URL (live_server);
the worker (every queue, DEBUG logging) fetches the order from the Square sandbox and signs the
invoice through the FIRS sandbox. Error answers are provoked (bad signatures, refused
credentials, junk input, a platform repeating the token in its refusal), then the tenant's
pages, the API and the admin are crawled. Every log line (this process's at DEBUG and the
worker's), every Redis command the broker saw (task arguments decoded), every API error body,
every page and a plaintext dump of the database must hold no canary. The sandboxes are the
outside world: what the platforms themselves log and store is theirs.
"""

import base64
import json
import re
import secrets
import subprocess
import sys
import threading
import time
import uuid
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import redis
import requests
from django.conf import settings
from django.contrib import admin
from django.urls import NoReverseMatch, reverse

from integrations.base.connections import connection_settings_update
from invoices.models import Invoice
from sandboxes.firs.server import sandbox_credential_create
from tests.conftest import otp_verified_login
from tests.factories import POSConnectionFactory
from tests.integrations.pos.support import completed_order, order_event, signed, square_connection
from tests.invoices.pipeline_support import BUSINESS_ID, SERVICE_ID, sandbox_organization

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

FINAL = (Invoice.Status.CONFIRMED, Invoice.Status.NEEDS_ATTENTION)
LINK = re.compile(r'(?:href|hx-get)="(/[^"#]*)"')
# Pages that end a session or change state when fetched.
NOT_CRAWLED = re.compile(r"/(logout|sandbox|static|media)/|/admin/logout/")
MAX_PAGES = 400


def canary(kind: str) -> str:
    return f"CANARY-{kind}-{secrets.token_hex(12)}"


class Capture:
    """Every log record of this process at DEBUG (a handler on the root logger)."""

    def __init__(self):
        self.lines: list[str] = []
        self.handler = _ListHandler(self.lines)

    def __enter__(self):
        import logging

        root = logging.getLogger()
        self.previous = root.level
        root.addHandler(self.handler)
        root.setLevel(logging.DEBUG)
        for name in list(logging.root.manager.loggerDict):
            logger = logging.getLogger(name)
            if logger.level and logger.level > logging.DEBUG:
                logger.setLevel(logging.DEBUG)
        return self

    def __exit__(self, *exc):
        import logging

        root = logging.getLogger()
        root.removeHandler(self.handler)
        root.setLevel(self.previous)


class _ListHandler:
    """A logging handler keeping formatted records (with their tracebacks)."""

    def __new__(cls, lines):
        import logging

        class Handler(logging.Handler):
            def emit(self, record):
                lines.append(f"{record.name} {self.format(record)} {record.args!r}")

        handler = Handler(level=logging.DEBUG)
        handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
        return handler


class BrokerMonitor(threading.Thread):
    """Every command Redis receives (MONITOR), message bodies base64-decoded as kombu stores
    them, so task arguments are read as the worker gets them."""

    def __init__(self, url: str):
        super().__init__(daemon=True)
        self.client = redis.Redis.from_url(url)
        self.commands: deque[str] = deque()
        self.stopped = threading.Event()

    def run(self):
        with self.client.monitor() as monitor:
            for command in monitor.listen():
                self.commands.append(command["command"])
                if self.stopped.is_set():
                    return

    def stop(self):
        self.stopped.set()
        self.client.ping()  # one more command, so listen() returns
        self.join(timeout=10)

    def texts(self) -> list[str]:
        found = []
        for command in self.commands:
            found.append(command)
            found.extend(_decoded_bodies(command))
        return found


def _decoded_bodies(command: str) -> list[str]:
    bodies = []
    for match in re.finditer(r'"body": "([A-Za-z0-9+/=]+)"', command.replace('\\"', '"')):
        try:
            bodies.append(base64.b64decode(match.group(1)).decode("utf-8", "replace"))
        except ValueError:
            continue
    return bodies


class EchoingPlatform(threading.Thread):
    """A platform refusing every call with an answer that repeats the credentials it was sent
    (its Authorization header and body), as some platforms' error messages do."""

    def __init__(self):
        super().__init__(daemon=True)

        class Handler(BaseHTTPRequestHandler):
            def do_any(self):
                sent = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                echo = f"{self.headers.get('Authorization')} {self.path} {sent.decode()}"
                body = json.dumps({"errors": [{"detail": f"Refused: {echo}"}]}).encode()
                self.send_response(401)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = do_PUT = do_DELETE = do_any

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def run(self):
        self.server.serve_forever()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


def _hits(texts, canaries: dict[str, str]) -> list[str]:
    return [
        f"{kind} in: {text[max(0, text.find(value) - 120) : text.find(value) + 40]!r}"
        for text in texts
        for kind, value in canaries.items()
        if value in text
    ]


def _worker(process_env, log_path: Path, env: dict):
    return subprocess.Popen(
        [
            str(Path(sys.executable).parent / "celery"),
            "-A",
            "taxpoynt",
            "worker",
            "--queues",
            "realtime,standard,batch",
            "--hostname",
            f"s1-{uuid.uuid4().hex[:8]}@test",
            "--pool",
            "threads",
            "--concurrency",
            "4",
            "--loglevel",
            "DEBUG",
            "--without-gossip",
            "--without-mingle",
        ],
        env=process_env(LOG_LEVEL="DEBUG", **env),
        stdout=log_path.open("w"),
        stderr=subprocess.STDOUT,
    )


def _body(answer) -> str:
    raw = b"".join(answer.streaming_content) if answer.streaming else answer.content
    return raw.decode("utf-8", "replace")


def _crawl(client, start: list[str]) -> dict[str, str]:
    """Every page reachable by links from ``start`` (GET only), by URL: its body."""
    seen, queue, pages = set(start), deque(start), {}
    while queue and len(pages) < MAX_PAGES:
        url = queue.popleft()
        answer = client.get(url)
        pages[url] = _body(answer)
        if "html" not in answer.get("Content-Type", ""):
            continue
        for link in LINK.findall(pages[url]):
            link = link.replace("&amp;", "&")
            if link not in seen and not NOT_CRAWLED.search(link):
                seen.add(link)
                queue.append(link)
    return pages


def _admin_pages(client) -> dict[str, str]:
    """Every admin change list, and the change page of each object (up to 20 a model)."""
    pages = {}
    for model, model_admin in admin.site._registry.items():
        info = (model._meta.app_label, model._meta.model_name)
        try:
            changelist = reverse("admin:{}_{}_changelist".format(*info))
        except NoReverseMatch:
            continue
        pages[changelist] = _body(client.get(changelist))
        for pk in model_admin.get_queryset(_Request(client)).values_list("pk", flat=True)[:20]:
            url = reverse("admin:{}_{}_change".format(*info), args=[pk])
            pages[url] = _body(client.get(url))
            history = reverse("admin:{}_{}_history".format(*info), args=[pk])
            pages[history] = _body(client.get(history))
    return pages


class _Request:
    """What ModelAdmin.get_queryset needs of a request: the signed-in superuser."""

    def __init__(self, client):
        from django.contrib.auth import get_user_model

        self.user = get_user_model().objects.get(pk=client.session["_auth_user_id"])


def _api_bodies(client) -> dict[str, str]:
    """Every API list of the tenant, and the detail of each object listed."""
    from tests.reliability.test_t1_cross_tenant import _routes

    bodies = {}
    for path, name, parameters in _routes():
        if not path.startswith("api/v1/") or not name.endswith("-list") or parameters:
            continue
        url = reverse(name)
        answer = client.get(url)
        bodies[url] = _body(answer)
        results = answer.json() if answer.status_code == 200 else {}
        results = results.get("results", results) if isinstance(results, dict) else results
        for item in results if isinstance(results, list) else []:
            if isinstance(item, dict) and "id" in item:
                try:
                    detail = reverse(name.replace("-list", "-detail"), args=[item["id"]])
                except NoReverseMatch:
                    continue
                bodies[detail] = _body(client.get(detail))
    return bodies


def _database_dump() -> list[str]:
    """Every row of our tables as PostgreSQL's text form; the sandboxes' tables are the platforms'
    own. Read over the test's connection rather than with pg_dump, whose version must match the
    server's (the embedded server is newer than the machine's client tools)."""
    from django.db import connection

    rows = []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"
            " AND tablename NOT LIKE 'sandbox\\_%%'"
        )
        for (table,) in cursor.fetchall():
            cursor.execute(f"SELECT t::text FROM {connection.ops.quote_name(table)} AS t")
            rows += [row for (row,) in cursor.fetchall()]
    return rows


def _wait_for_invoice(organization, timeout: float = 120) -> Invoice:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        invoice = Invoice.objects.filter(organization=organization, status__in=FINAL).first()
        if invoice:
            return invoice
        time.sleep(0.5)
    pytest.fail("no invoice reached a final status")


def test_no_canary_secret_leaves_the_vault(
    live_server, process_env, clean_queues, client, admin_user, token_client, tmp_path
):
    canaries = {
        "FIRS API key": str(uuid.uuid4()),
        "FIRS API secret": canary("firs-secret"),
        "webhook signature key": canary("whsec"),
        "client secret": canary("client-secret"),
        "typed-in secret": canary("typed"),
        "echoed access token": canary("echoed-token"),
        "field-encryption key": settings.FIELD_ENCRYPTION_KEYS[0],
    }
    sandbox_credential_create(
        api_key=canaries["FIRS API key"],
        api_secret=canaries["FIRS API secret"],
        label="canaries",
        business_id=BUSINESS_ID,
        service_id=SERVICE_ID,
    )
    organization = sandbox_organization(
        base_url=f"{live_server.url}/sandbox/firs",
        firs_api_key=canaries["FIRS API key"],
        firs_api_secret=canaries["FIRS API secret"],
    )
    connection = square_connection(site_url=live_server.url, organization=organization)
    owner = connection.user
    connection_settings_update(
        connection=connection, changes={"webhook_secret": canaries["webhook signature key"]}
    )
    connection.refresh_from_db()
    stored = json.loads(connection.credentials_encrypted)
    for name in ("access_token", "refresh_token"):
        if stored.get(name):
            canaries[f"Square {name.replace('_', ' ')}"] = stored[name]
    settings.PLATFORM_APPS = {
        **settings.PLATFORM_APPS,
        "square": {**settings.PLATFORM_APPS["square"], "client_secret": canaries["client secret"]},
    }

    echoing = EchoingPlatform()
    echoing.start()
    echoed = POSConnectionFactory(
        organization=organization,
        user=owner,
        base_url=echoing.url,
        credentials_encrypted=json.dumps({"access_token": canaries["echoed access token"]}),
    )

    # The broker's server in redis-py's spelling (an embedded one is a unix socket, which kombu
    # spells differently); MONITOR sees every database on it.
    monitor = BrokerMonitor(settings.REDIS_CACHE_URL)
    monitor.start()
    worker_log = tmp_path / "worker.log"
    worker = _worker(process_env, worker_log, {"SQUARE_CLIENT_SECRET": canaries["client secret"]})
    error_bodies = {}
    try:
        with Capture() as logs:
            order = completed_order(connection)
            body, headers = signed(connection, order_event(connection, order))
            answer = requests.post(connection.webhook_url, data=body, headers=headers, timeout=10)
            assert answer.status_code == 200, answer.text
            invoice = _wait_for_invoice(organization)

            # Error answers: a delivery signed with a wrong key, or none; refused credentials.
            wrong, wrong_headers = signed(connection, order_event(connection, order), key="x" * 32)
            for kind, sent_headers in (("wrong key", wrong_headers), ("unsigned", {})):
                answer = requests.post(
                    connection.webhook_url, data=wrong, headers=sent_headers, timeout=10
                )
                error_bodies[f"webhook {kind} {answer.status_code}"] = answer.text
            api = token_client(owner)
            for path, payload in (
                (
                    reverse("erp-connect", kwargs={"platform": "odoo"}),
                    {
                        "credentials": {
                            "base_url": "http://127.0.0.1:9/",
                            "database": "x",
                            "api_key": canaries["typed-in secret"],
                        }
                    },
                ),
                (
                    reverse("crm-connect", kwargs={"platform": "pipedrive"}),
                    {"credentials": {"api_token": canaries["typed-in secret"], "junk": 1}},
                ),
                (reverse("pos-connect", kwargs={"platform": "square"}), {"sandbox": "nonsense"}),
                (reverse("pos-connection-test", args=[connection.pk]), {}),
                (reverse("pos-connection-test", args=[echoed.pk]), {}),
                (reverse("invoice-mark-paid", args=[invoice.pk]), {"paid_at": "not a date"}),
            ):
                answer = api.post(path, payload, format="json")
                error_bodies[f"POST {path} {answer.status_code}"] = _body(answer)

            client.force_login(owner)
            pages = _crawl(client, ["/", "/integrations/", "/business/firs/", "/activity/"])
            api_bodies = _api_bodies(api)
            admin_browser = type(client)()
            otp_verified_login(admin_browser, admin_user)
            admin_pages = _admin_pages(admin_browser)
    finally:
        worker.terminate()
        worker.wait(timeout=30)
        monitor.stop()
        echoing.stop()

    own_logs = [line for line in logs.lines if not line.startswith("sandboxes.")]
    surfaces = {
        "logs (this process, DEBUG)": own_logs,
        "logs (worker, DEBUG)": worker_log.read_text().splitlines(),
        "broker (Redis commands, task arguments)": monitor.texts(),
        "API error bodies": list(error_bodies.values()),
        "API bodies": list(api_bodies.values()),
        "page HTML": list(pages.values()),
        "admin HTML": list(admin_pages.values()),
        "database dump (plaintext)": _database_dump(),
    }
    hits = {surface: _hits(texts, canaries) for surface, texts in surfaces.items()}
    counts = {surface: len(texts) for surface, texts in surfaces.items()}
    total = sum(len(found) for found in hits.values())
    print(
        f"\nS1 canary hits {total} ({len(canaries)} canaries over "
        + ", ".join(f"{surface} {counts[surface]}" for surface in surfaces)
        + f"); invoice {invoice.status}; errors provoked: {', '.join(error_bodies)}"
    )
    # The scan reads what it claims to: task arguments decoded, the worker's DEBUG lines.
    decoded = [body for command in monitor.commands for body in _decoded_bodies(command)]
    assert any('"event_id"' in body for body in decoded), decoded[:3]
    assert any(" DEBUG" in line or "DEBUG/" in line for line in surfaces["logs (worker, DEBUG)"])
    assert len(pages) > 10 and len(admin_pages) > 10
    assert {surface: found for surface, found in hits.items() if found} == {}
