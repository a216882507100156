"""The integration families (pos, crm, erp) and what the shared machinery needs of each.

A family app registers itself once in its ``AppConfig.ready``; the webhook endpoints, the OAuth
dance, the ingest pipeline and its tasks find the family's connection model, queues and pipeline
adapter here. Platforms are never named: they come from the connector registry.
"""

from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.db import models

if TYPE_CHECKING:
    from integrations.base.pipeline import FamilyAdapter
    from integrations.base.tasks import FamilyTasks


@dataclass(frozen=True)
class Family:
    name: str
    connection_model: type[models.Model]
    # What the one ingest pipeline does differently for this family's source rows.
    adapter: "FamilyAdapter"
    # The queue this family's live work rides: pos realtime (a till waits on it), crm/erp standard.
    queue: str
    # Back-fills and the invoices they make: work that never holds live work back.
    batch_queue: str = "batch"
    # The sweeper and the sync scheduler: not batch, where a long back-fill would delay the
    # rescue of a stuck sale.
    maintenance_queue: str = "standard"
    # How long a fresh webhook event waits before it is processed (seconds): a burst of events
    # about one object then costs one fetch (the later events supersede the earlier ones).
    event_delay_seconds: float = 0.0
    # Dotted path of the ModelForm that edits a connection's settings on its Integrations card;
    # empty when the family has a settings page of its own.
    card_settings_form: str = ""

    @property
    def tasks(self) -> "FamilyTasks":
        """The family's Celery tasks (made when it registered)."""
        from integrations.base.tasks import family_tasks

        return family_tasks(self.name)


_families: dict[str, Family] = {}


def register(family: Family) -> None:
    """Register the family and make its tasks (named after it: ``pos.process_event``)."""
    from integrations.base.tasks import family_tasks_make

    _families[family.name] = family
    family_tasks_make(family)


def registered() -> list[Family]:
    """Every family an app registered."""
    return list(_families.values())


def get(name: str) -> Family:
    """The family; KeyError when no app registered it."""
    return _families[name]
