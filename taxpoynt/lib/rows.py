"""Single-row statements of the hot paths (webhooks, the realtime worker, the sandboxes' APIs)
without the ORM's query building: a lookup by a unique column and an INSERT that says whether
it inserted."""

import functools

from django.db import connection
from django.db.models.constants import OnConflict
from django.db.models.sql.subqueries import InsertQuery


def row_insert_unless_present(row) -> bool:
    """Insert the unsaved ``row`` (every value set in Python, its primary key included) unless
    one of its unique keys is taken: one statement. True when it was inserted, so the row in
    hand is the stored one and need not be read back."""
    model = type(row)
    fields = [field for field in model._meta.local_concrete_fields if not field.generated]
    query = InsertQuery(model, on_conflict=OnConflict.IGNORE)
    query.insert_values(fields, [row])
    ((sql, params),) = query.get_compiler(connection=connection).as_sql()
    with connection.cursor() as cursor:
        cursor.execute(f"{sql} RETURNING 1", params)
        inserted = cursor.fetchone() is not None
    if inserted:
        row._state.adding = False
        row._state.db = connection.alias
    return inserted


@functools.cache
def _select_by(model, field: str) -> str:
    quote = connection.ops.quote_name
    column = quote(model._meta.get_field(field).column)
    # Names from the model's own meta, quoted; the value travels as a parameter.
    return f"SELECT * FROM {quote(model._meta.db_table)} WHERE {column} = %s LIMIT 1"  # noqa: S608


def row_by(model, *, field: str, value):
    """The ``model`` row whose unique ``field`` is ``value``, or None: the ORM's
    ``filter(field=value).first()`` in SQL written once per model and field (the same instance,
    its fields converted as the ORM converts them), for lookups made on every request."""
    return next(iter(model.objects.raw(_select_by(model, field), [value])), None)


def row_by_pk(model, pk):
    """The ``model`` row with primary key ``pk``, or None."""
    return row_by(model, field=model._meta.pk.name, value=pk)
