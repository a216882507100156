"""What one live Square sale costs the database: statements per webhook delivery and per sale
on the realtime path. A count, not a time: it guards the cost of the hot path against a change
that quietly adds a query per sale (make bench measures the time)."""

import io
from urllib.parse import urlsplit
from wsgiref.util import setup_testing_defaults

import pytest
from django.db import connection

from integrations.pos.models import POSTransaction
from sandboxes.kit.traffic import Receiver, deliveries_prepare
from sandboxes.square.traffic import SquareTraffic
from taxpoynt.wsgi import application
from tests.integrations.inline_workers import tasks_captured, tasks_worked
from tests.integrations.pos.support import merchant_of, square_connection

# Measured when the counts were set: 2 per delivery; 26 per sale (one sale's events: two
# worked, one ignored at the door), 28 for a sale with items the catalogue has not seen. A new
# statement on the path fails here first.
STATEMENTS_PER_DELIVERY = 2
STATEMENTS_PER_SALE = 28


def _deliver(url: str, body: bytes, headers: dict) -> str:
    """POST through the WSGI application gunicorn serves (the webhooks' own middleware)."""
    parts = urlsplit(url)
    environ = {
        "PATH_INFO": parts.path,
        "REQUEST_METHOD": "POST",
        "CONTENT_LENGTH": str(len(body)),
        "CONTENT_TYPE": "application/json",
        "wsgi.input": io.BytesIO(body),
        "HTTP_HOST": parts.netloc,
        "SERVER_NAME": parts.hostname,
        "SERVER_PORT": str(parts.port),
    }
    for name, value in headers.items():
        if name.lower() != "content-type":
            environ["HTTP_" + name.upper().replace("-", "_")] = value
    setup_testing_defaults(environ)
    answered = {}
    b"".join(
        application(environ, lambda status, _headers, exc_info=None: answered.update(s=status))
    )
    return answered["s"]


@pytest.mark.django_db(transaction=True)
def test_a_live_sale_costs_a_bounded_number_of_statements(live_server, monkeypatch):
    square = square_connection(site_url=live_server.url)
    published = tasks_captured(monkeypatch, family="pos")
    receiver = Receiver(webhook_url=square.webhook_url, notification_url=square.notification_url)
    traffic = SquareTraffic(
        merchant=merchant_of(square), signing_key=square.webhook_secret, api_order_share=0.0
    )
    warm_up, _ = deliveries_prepare(traffic, receiver=receiver, count=1, seed=1)
    sales = 5
    measured, _ = deliveries_prepare(traffic, receiver=receiver, count=sales, seed=2)
    # The first sale pays for what a process does once (code lists, new catalogue items).
    for delivery in warm_up:
        assert _deliver(receiver.webhook_url, delivery.body, delivery.headers).startswith("200")
    tasks_worked(published, family="pos")

    statements = []

    def count(execute, sql, params, many, context):
        statements.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(count):
        for delivery in measured:
            answer = _deliver(receiver.webhook_url, delivery.body, delivery.headers)
            assert answer.startswith("200"), answer
    web = len(statements)
    statements.clear()
    with connection.execute_wrapper(count):
        tasks_worked(published, family="pos")

    assert POSTransaction.objects.filter(signed_at__isnull=False).count() == 1 + sales
    assert web <= STATEMENTS_PER_DELIVERY * len(measured), web
    assert len(statements) <= STATEMENTS_PER_SALE * sales, (len(statements) / sales, statements)
