"""Queries whose SQL is built once, then run again with new values. No Flask.

peewee builds a query's SQL by walking its expression tree on every execution: a third of a
small page's CPU (the funnel's two queries, about 1 ms). The tree of a page's hot query has
the same shape on every request; only values change (an id, the moment now, a page's offset).
So a hot query can be written as a function of its values, decorated with @prepared: it is
built once per database kind with a Slot standing for each value, and its SQL kept with the
Slots' places among the parameters. Each call fills those places and runs the kept SQL.

A Slot is a value that is not known yet, so nothing may decide on it in Python or compute with it
in SQL text: bool(slot) and arithmetic on a slot raise, rather than silently keeping the first
call's shape or sending "? + ?" to the database. Compute in Python and pass the result.
"""

import functools
import json

from peewee import ColumnBase

from portal.db import database, is_sqlite


class Slot(ColumnBase):
    """A value of a prepared query, filled in at each call from the keyword of the same name."""

    def __init__(self, name):
        super().__init__()
        self.name = name

    def __sql__(self, ctx):
        # The converter is the compared column's own (a datetime stored as naive UTC, say):
        # kept with the place, it converts each call's value as peewee would have.
        ctx._values.append(_Place(self.name, ctx.state.converter))
        return ctx.literal(ctx.state.param or "?")

    def __bool__(self):
        raise TypeError(f"The prepared value {self.name!r} cannot decide a query's shape.")

    def _refuse(self, *_args):
        raise TypeError(f"Compute with {self.name!r} in Python and pass the result as its own value.")

    __add__ = __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = _refuse
    __truediv__ = __rtruediv__ = __mod__ = __neg__ = __pow__ = _refuse


class _Place:
    """Where a Slot's value goes among the parameters, and how to convert it for the database."""

    __slots__ = ("name", "converter")

    def __init__(self, name, converter):
        self.name, self.converter = name, converter

    def fill(self, values):
        value = values[self.name]
        return self.converter(value) if self.converter else value


class Prepared:
    """A query built by build(*shape, **slots), kept per shape and database kind; call it to run it.

    Positional arguments choose the shape (a sort column, whether a filter applies): each shape
    is built once. Keyword arguments are values, each a Slot while building. A call returns the
    query's rows as the query itself would (models, tuples or dicts), read from a fresh cursor.
    """

    def __init__(self, build):
        self._build = build
        self._kept = {}
        functools.update_wrapper(self, build)

    def compiled(self, *shape, **values):
        """Return (query, sql, parameters with places) for this shape on the bound database."""
        key = (type(database.obj), shape, tuple(sorted(values)))
        kept = self._kept.get(key)
        if kept is None:
            query = self._build(*shape, **{name: Slot(name) for name in values})
            sql, params = database.get_sql_context().sql(query).query()
            kept = self._kept[key] = (query, sql, params)
        return kept

    def __call__(self, *shape, **values):
        query, sql, params = self.compiled(*shape, **values)
        filled = [param.fill(values) if isinstance(param, _Place) else param for param in params]
        return query._get_cursor_wrapper(database.execute_sql(sql, filled))

    def first(self, *shape, **values):
        """The query's first row, or None: a prepared lookup of one row."""
        return next(iter(self(*shape, **values)), None)


def prepared(build):
    """Decorate a function that returns a query: its SQL is built once per shape (see Prepared)."""
    return Prepared(build)


class OneOf(ColumnBase):
    """column IN a list of numbers or of texts, as one parameter whatever its length: one SQL for any.

    An IN list is a parameter per value, so its SQL changes with its length and cannot be kept, and
    PostgreSQL reads hundreds of parameters slowly; as one value (a Slot in a prepared query, or
    the list itself) it is a PostgreSQL array, or on SQLite a JSON array that json_each reads.
    """

    def __init__(self, column, values):
        super().__init__()
        self.column, self.values = column, values

    def __sql__(self, ctx):
        sqlite = is_sqlite()
        ctx.sql(self.column).literal(" IN (SELECT value FROM json_each(" if sqlite else " = ANY(")
        with ctx(converter=_json_list if sqlite else list):
            ctx.sql(self.values) if isinstance(self.values, Slot) else ctx.value(self.values)
        return ctx.literal("))" if sqlite else ")")


def _json_list(values):
    return json.dumps(list(values))


def by_id(model, row_id):
    """The model's row with this id, or None: a page's first lookup, its SQL built once per model."""
    return _by_id.first(model, row_id=row_id)


@prepared
def _by_id(model, row_id):
    return model.select().where(model.id == row_id).limit(1)
