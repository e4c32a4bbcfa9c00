"""Queries compiled once and then only executed: the websocket's hot path without the ORM's
per-call cost.

Building and compiling a QuerySet costs Python time on every call: on the 2-core reference
machine ~0.3 ms for a one-table lookup and 1.5 to 2 ms for the consumer's access re-check (joins
and EXISTS), against 0.01 to 0.05 ms to execute the same SQL on SQLite. A websocket consumer
runs the same few queries on every event with the same values (its conversation, user, session,
device) except at most one (the sequence number it has sent), so it compiles them at connect and
then only executes them (bench/messaging.py, docs/benchmarks.md).

The SQL, its parameters and the converters all come from Django's own compiler, from an
ordinary QuerySet: nothing is written by hand, every backend quotes and converts as the ORM does,
and the queries are logged and counted like any other (`django_assert_num_queries`).
"""

from typing import Any

from django.db import connections
from django.db.models import Model, QuerySet


class Prepared:
    """A `.values()` QuerySet compiled once; `rows(**values)` runs it again.

    `slots` name the parameters that change between runs (integers or strings, passed to the
    database as given): build the QuerySet with a sentinel value (one that occurs once among
    the parameters) in their place, e.g.
    `Prepared(qs.filter(seq__gt=2_147_000_001), seq=2_147_000_001)` (inside the column's range:
    Django drops a comparison with a number outside it), then `rows(seq=12)`.
    """

    def __init__(self, queryset: QuerySet, **slots: Any) -> None:
        self.using = queryset.db
        compiler = queryset.query.get_compiler(using=self.using)
        self.sql, params = compiler.as_sql()
        self.params = list(params)
        self.slots: dict[str, int] = {}
        for name, sentinel in slots.items():
            where = [i for i, value in enumerate(self.params) if value == sentinel]
            if len(where) != 1:
                raise ValueError(f"the sentinel for {name!r} must occur once among the parameters")
            self.slots[name] = where[0]
        query = queryset.query
        self.names = [*query.extra_select, *query.values_select, *query.annotation_select]
        self.compiler = compiler
        self.converters = compiler.get_converters(
            [select[0] for select in compiler.select[: compiler.col_count]]
        )

    def rows(self, **values: Any) -> list[dict[str, Any]]:
        params = list(self.params)
        for name, index in self.slots.items():
            params[index] = values[name]
        with connections[self.using].cursor() as cursor:
            cursor.execute(self.sql, params)
            fetched = cursor.fetchall()
        if self.converters:
            fetched = self.compiler.apply_converters(fetched, self.converters)
        return [dict(zip(self.names, row, strict=True)) for row in fetched]


def fields_of(model: type[Model], only: tuple[str, ...] | None = None) -> list[str]:
    """Attribute names of `model`'s columns (all, or those in `only`), in the model's order,
    as `instance` expects them."""
    return [
        field.attname
        for field in model._meta.concrete_fields
        if only is None or field.attname in only
    ]


def paths(prefix: str, names: list[str]) -> list[str]:
    return [f"{prefix}{name}" for name in names]


def instance(model: type[Model], using: str, row: dict, names: list[str], prefix: str = ""):
    """A model instance from a row's `prefix`+name columns (any other column deferred: read on
    first access, as with `.only()`); None when the row holds no such object (a LEFT JOIN)."""
    values = [row[prefix + name] for name in names]
    if values[names.index(model._meta.pk.attname)] is None:
        return None
    return model.from_db(using, names, values)
