"""The integration families (pos, crm, erp) and what the shared machinery needs of each.

A family app registers itself once in its ``AppConfig.ready``; the webhook endpoints, the OAuth
dance and the inbox find the family's connection model and queue here. Platforms are never
named: they come from the connector registry.
"""

from collections.abc import Callable
from dataclasses import dataclass

from django.db import models


@dataclass(frozen=True)
class Family:
    name: str
    connection_model: type[models.Model]
    # The queue this family's live work rides: pos realtime (a till waits on it), crm/erp standard.
    queue: str
    # Process one stored webhook event: ``process_event(event_id=...)``, a Celery task.
    process_event_task: Callable
    # How long a fresh webhook event waits before it is processed (seconds): a burst of events
    # about one object then costs one fetch (the later events supersede the earlier ones).
    event_delay_seconds: float = 0.0
    # Dotted path of the ModelForm that edits a connection's settings on its Integrations card;
    # empty when the family has a settings page of its own.
    card_settings_form: str = ""


_families: dict[str, Family] = {}


def register(family: Family) -> None:
    _families[family.name] = family


def get(name: str) -> Family:
    """The family; KeyError when no app registered it."""
    return _families[name]
