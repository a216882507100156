"""The WSGI application: machine-to-machine paths skip the browser middleware, pages keep it."""

import io
from wsgiref.util import setup_testing_defaults

import pytest

from taxpoynt.wsgi import application

pytestmark = pytest.mark.django_db


def _call(path: str, *, method: str = "GET", body: bytes = b"") -> tuple[str, dict, bytes]:
    environ = {
        "PATH_INFO": path,
        "REQUEST_METHOD": method,
        "CONTENT_LENGTH": str(len(body)),
        "CONTENT_TYPE": "application/json",
        "wsgi.input": io.BytesIO(body),
        "HTTP_HOST": "testserver",
    }
    setup_testing_defaults(environ)
    answered = {}

    def start_response(status, headers, exc_info=None):
        answered["status"], answered["headers"] = status, dict(headers)

    chunks = application(environ, start_response)
    content = b"".join(chunks)
    return answered["status"], answered["headers"], content


def test_a_webhook_is_answered_without_session_csrf_or_page_headers():
    # A POST with no CSRF token reaches the view (which refuses the unknown platform itself).
    status, headers, content = _call("/webhooks/pos/nowhere/", method="POST", body=b"{}")

    assert status.startswith("404")
    assert b"No platform" in content
    assert "Content-Security-Policy" not in headers
    assert "Vary" not in headers  # no session or cookie middleware looked at the request
    # Django's security middleware stays: its headers and its HTTPS redirect in production.
    assert headers["X-Content-Type-Options"] == "nosniff"


def test_a_page_keeps_the_full_middleware():
    status, headers, _ = _call("/login/")

    assert status.startswith("200")
    assert "Content-Security-Policy" in headers
    assert "csrftoken" in headers.get("Set-Cookie", "")
