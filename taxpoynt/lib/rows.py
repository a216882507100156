"""Single-row statements of the hot paths, without the ORM's query building: a lookup by
primary key and an INSERT that says whether it inserted."""

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


def row_by_pk(model, pk):
    """The ``model`` row with primary key ``pk``, or None: the ORM's ``filter(pk=).first()``
    in hand-written SQL (the same instance, its fields converted as the ORM converts them)."""
    meta = model._meta
    quote = connection.ops.quote_name
    sql = f"SELECT * FROM {quote(meta.db_table)} WHERE {quote(meta.pk.column)} = %s"  # noqa: S608 (names from the model)
    return next(iter(model.objects.raw(sql, [pk])), None)
