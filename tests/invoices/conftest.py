import json
from pathlib import Path

import pytest

from invoices.codes import CodeLists

FIXTURES_DIR = Path(__file__).resolve().parent / "fixtures"


@pytest.fixture(scope="session")
def codes() -> CodeLists:
    return CodeLists.from_snapshot()


@pytest.fixture
def firs_example():
    """One of the worked FIRS examples (tests/invoices/fixtures), parsed fresh for each test."""

    def load(name: str) -> dict:
        return json.loads((FIXTURES_DIR / f"{name}.json").read_text(encoding="utf-8"))

    return load
