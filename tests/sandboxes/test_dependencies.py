"""Dependencies point one way: a sandbox may import production code, production code never imports
a sandbox (it reaches their accounts through integrations.base.sandbox_accounts)."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# Where importing a sandbox is fine: the sandboxes themselves, their tests, the benchmark.
ALLOWED = {"sandboxes", "tests", "bench", ".venv", "var", "node_modules"}


def _sandbox_imports(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            names = [node.module or ""]
        else:
            continue
        found += [
            f"{path.relative_to(ROOT)}:{node.lineno} imports {name}"
            for name in names
            if name == "sandboxes" or name.startswith("sandboxes.")
        ]
    return found


def test_production_code_never_imports_a_sandbox():
    offenders = [
        found
        for path in sorted(ROOT.rglob("*.py"))
        if path.relative_to(ROOT).parts[0] not in ALLOWED
        for found in _sandbox_imports(path)
    ]
    assert offenders == []


def test_the_check_sees_an_import_of_a_sandbox():
    module = ROOT / "sandboxes" / "square" / "provisioning.py"
    assert _sandbox_imports(module), "the sandboxes import one another; the check must see it"
