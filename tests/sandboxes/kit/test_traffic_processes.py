"""The processes `make run` and `make bench` start carry no secret on their command lines (every
local user reads them in ps), and the demo's traffic command runs from var/demo.json alone."""

import importlib.util
import json
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command

from bench import run as bench_run

ROOT = Path(__file__).resolve().parents[3]


def _run_dev():
    spec = importlib.util.spec_from_file_location("run_dev", ROOT / "scripts" / "run_dev.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _secrets(demo: dict) -> set[str]:
    found = {demo["tenant"]["password"], demo["operator"]["password"], demo["tenant"]["api_token"]}
    for entry in demo["connections"]:
        found |= {entry["signing_secret"], entry["sandbox_access_token"]}
        found |= {str(value) for value in entry["webhook_credentials"].values()}
    found |= {settings.SECRET_KEY, *(str(key) for key in settings.FIELD_ENCRYPTION_KEYS)}
    return {secret for secret in found if len(secret) >= 8}


def _argv_holding(argv: list[str], secrets: set[str]) -> list[str]:
    return [argument for argument in argv if any(secret in argument for secret in secrets)]


@pytest.mark.django_db(transaction=True)
def test_the_demo_traffic_runs_from_the_demo_file_with_no_secret_in_its_argv(
    live_server, tmp_path, capsys
):
    demo_file = tmp_path / "demo.json"
    call_command("create_demo_data", url=live_server.url, output=str(demo_file))
    demo = json.loads(demo_file.read_text())

    commands = _run_dev().commands(demo)
    capsys.readouterr()  # what the set-up and run_dev printed

    traffic = {name: argv for name, argv in commands.items() if "sandbox_traffic" in argv}
    assert sorted(traffic) == sorted(f"demo-traffic-{e['platform']}" for e in demo["connections"])
    secrets = _secrets(demo)
    assert {name: _argv_holding(argv, secrets) for name, argv in commands.items()} == {
        name: [] for name in commands
    }
    # Each runs as built (from this test's demo file, briefly) and its deliveries are accepted.
    # Seeded: some changes send nothing (a Salesforce opportunity is made before it is won).
    for argv in traffic.values():
        arguments = argv[argv.index("sandbox_traffic") + 1 :]
        arguments[arguments.index("--demo-file") + 1] = str(demo_file)
        arguments[arguments.index("--count") + 1] = "4"
        call_command("sandbox_traffic", *arguments, "--seed", "1")
        summary = json.loads(capsys.readouterr().out)
        assert summary["changes"] == 4
        assert summary["deliveries_sent"] > 0
        assert summary["non_2xx"] == summary["transport_errors"] == 0


def test_the_bench_processes_carry_no_secret(monkeypatch):
    started = []

    class Started:
        def __init__(self, argv, **options):
            started.append(argv)

    monkeypatch.setattr(bench_run.subprocess, "Popen", Started)
    monkeypatch.setattr(sys, "argv", ["bench/run.py"])

    bench_run.processes_start(bench_run.parse_args())

    secrets = {settings.SECRET_KEY, *(str(key) for key in settings.FIELD_ENCRYPTION_KEYS)}
    assert started
    assert [_argv_holding(argv, secrets) for argv in started] == [[] for _ in started]
