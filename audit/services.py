"""Writing the audit trail. Services call ``audit_record`` in the transaction of the change they
make, so a change and its record commit or roll back together."""

from collections.abc import Iterable, Mapping

from django.core.exceptions import FieldDoesNotExist
from django.db import models

from audit.models import AuditEvent
from taxpoynt.lib.fields import EncryptedTextField

Action = AuditEvent.Action

HIDDEN_CHANGE = "changed (secret, not recorded)"


def _is_user(actor) -> bool:
    return getattr(actor, "pk", None) is not None and hasattr(actor, "get_username")


def audit_record(
    *,
    action: str,
    actor=None,
    organization=None,
    target: models.Model | None = None,
    changes: Mapping | None = None,
    actor_label: str = "",
) -> AuditEvent:
    """One row of the trail. ``actor`` is the user who acted (None or a text for automation);
    ``target`` the row acted on; ``changes`` field -> [before, after], made with
    ``audit_changes`` so secrets are never in it."""
    user = actor if _is_user(actor) else None
    label = actor_label or (user.get_username() if user else str(actor or "system"))
    organization_id = getattr(organization, "pk", organization)
    return AuditEvent.objects.create(
        action=action,
        actor=user,
        actor_label=label[:150],
        organization_id=organization_id,
        target_type=target._meta.verbose_name if target is not None else "",
        target_id=str(target.pk) if target is not None else "",
        target_label=str(target)[:255] if target is not None else "",
        changes=dict(changes or {}),
    )


def audit_changes(
    *,
    model: type[models.Model],
    before: Mapping,
    after: Mapping,
    names: Iterable[str] = (),
    secret_names: Iterable[str] = (),
) -> dict:
    """field -> [before, after] for each field that changed (of ``names``, or of ``after``).
    An encrypted field, or one of ``secret_names``, says only that it changed."""
    changes = {}
    secret_names = set(secret_names)
    for name in names or after:
        old, new = before.get(name), after.get(name)
        if old == new:
            continue
        if name in secret_names or _is_encrypted(model, name):
            changes[name] = HIDDEN_CHANGE
        else:
            changes[name] = [_plain(old), _plain(new)]
    return changes


def _is_encrypted(model, name: str) -> bool:
    try:
        return isinstance(model._meta.get_field(name), EncryptedTextField)
    except FieldDoesNotExist:
        return False


def _plain(value):
    """What JSON can hold: model rows by id, the rest as text unless already plain."""
    if value is None or isinstance(value, (bool, int, float, str, list, dict)):
        return value
    if isinstance(value, models.Model):
        return str(value.pk)
    return str(value)
