"""What the browser tests share: Debian's chromium, how it is started, where screenshots go."""

from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")  # Debian's; scripts/ensure_chromium.sh installs it
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"


def chromium_ready() -> None:
    """Fail clearly when the browser is missing; make the screenshots' folder."""
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: run scripts/ensure_chromium.sh")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)


# Every page reports what its content policy blocked, on the console where the tests collect it.
CSP_VIOLATION_PREFIX = "CSP violation:"
_REPORT_CSP_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (event) => {
  console.error(`CSP violation: ${event.effectiveDirective} blocked `
    + `${event.blockedURI || "inline code"} on ${event.documentURI}`);
});
"""


def watch_csp_violations(context) -> list[str]:
    """The content-policy violations of every page of this browser context, as they happen."""
    violations: list[str] = []
    context.add_init_script(_REPORT_CSP_VIOLATIONS)

    def collect(message) -> None:
        if message.text.startswith(CSP_VIOLATION_PREFIX):
            violations.append(message.text)

    context.on("console", collect)
    return violations


def assert_no_csp_violations(context, violations: list[str]) -> None:
    """Fails the test that saw any; first lets the pages deliver their pending console events."""
    for open_page in context.pages:
        if not open_page.is_closed():
            open_page.evaluate("0")
    assert violations == [], "\n".join(violations)
