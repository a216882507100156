"""One row by a unique column, in SQL written once per model: the lookups a sandbox makes on
every request (a token's seller, an API key's credential) without the ORM building the same
query each time, a few tenths of a millisecond of CPU apiece."""

import functools

from django.db import connection, models


@functools.cache
def _select(model: type[models.Model], field: str) -> tuple[str, tuple[str, ...]]:
    fields = model._meta.concrete_fields
    # Raw rows skip the fields' conversions from the database; these models have none to skip.
    converted = [one.name for one in fields if hasattr(one, "from_db_value")]
    if converted:
        raise TypeError(f"{model.__name__} fields {converted} need converting; use the ORM")
    quote = connection.ops.quote_name
    columns = ", ".join(quote(one.column) for one in fields)
    where = quote(model._meta.get_field(field).column)
    # Names from the model's own meta, quoted; the value travels as a parameter.
    sql = f"SELECT {columns} FROM {quote(model._meta.db_table)} WHERE {where} = %s LIMIT 1"  # noqa: S608
    return sql, tuple(one.attname for one in fields)


def row_by(model: type[models.Model], *, field: str, value) -> models.Model | None:
    """The instance whose unique ``field`` is ``value``, or None."""
    sql, names = _select(model, field)
    with connection.cursor() as cursor:
        cursor.execute(sql, [value])
        row = cursor.fetchone()
    return None if row is None else model.from_db(connection.alias, names, row)
