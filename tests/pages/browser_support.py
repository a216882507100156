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
