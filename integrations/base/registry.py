"""The one list of connectors: platform key -> dotted path of its class.

Adding a platform means adding a line here; nothing else switches on platform names. The list is
validated when Django starts (``IntegrationsBaseConfig.ready``), so a bad entry stops the boot.
"""

from collections.abc import Mapping

from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

from integrations.base.connectors import BaseConnector

CONNECTORS: dict[str, str] = {
    "square": "integrations.pos.square.connector.SquareConnector",
    "toast": "integrations.pos.toast.connector.ToastConnector",
    "lightspeed": "integrations.pos.lightspeed.connector.LightspeedConnector",
    "hubspot": "integrations.crm.hubspot.connector.HubSpotConnector",
    "pipedrive": "integrations.crm.pipedrive.connector.PipedriveConnector",
    "salesforce": "integrations.crm.salesforce.connector.SalesforceConnector",
    "odoo": "integrations.erp.odoo.connector.OdooConnector",
}

_loaded: dict[str, type[BaseConnector]] = {}


def validate(entries: Mapping[str, str]) -> dict[str, type[BaseConnector]]:
    """Import and check every entry; raise ImproperlyConfigured naming each bad one."""
    loaded, problems = {}, []
    for key, dotted_path in entries.items():
        try:
            connector = import_string(dotted_path)
        except ImportError as exc:
            problems.append(f"{key}: cannot import {dotted_path} ({exc})")
            continue
        if not (isinstance(connector, type) and issubclass(connector, BaseConnector)):
            problems.append(f"{key}: {dotted_path} is not a BaseConnector subclass")
            continue
        entry_problems = connector.contract_problems()
        if connector.key and connector.key != key:
            entry_problems.append(f"declares key {connector.key!r}, registered as {key!r}")
        problems.extend(f"{key}: {problem}" for problem in entry_problems)
        loaded[key] = connector
    if problems:
        raise ImproperlyConfigured("Connector registry is invalid:\n  " + "\n  ".join(problems))
    return loaded


def load(entries: Mapping[str, str] | None = None) -> None:
    global _loaded
    _loaded = validate(CONNECTORS if entries is None else entries)


def get(key: str) -> type[BaseConnector]:
    """The connector class for a platform key; KeyError for an unknown platform."""
    return _loaded[key]


def for_family(family: str) -> dict[str, type[BaseConnector]]:
    return {key: cls for key, cls in _loaded.items() if cls.family == family}


def all_connectors() -> dict[str, type[BaseConnector]]:
    return dict(_loaded)
