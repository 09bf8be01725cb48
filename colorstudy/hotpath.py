"""Queries of the participant's hot path (every vote, every trial page), compiled once.

Building a query's SQL through the ORM cost 1 to 1.5 ms each, fifteen times the query itself on
SQLite; with three of them per vote that was most of a vote's time. Here the ORM still writes
the SQL (so models, joins and quoting stay Django's), once per process and database, from a
queryset with a sentinel parameter; each request then only executes it.

On PostgreSQL these queries are also prepared on the server, once per connection: Django's own
cursors bind parameters on the client, so PostgreSQL parses and plans every statement again.
Set ``POSTGRES_PREPARED=0`` behind a pooler that cannot keep prepared statements (PgBouncer in
transaction mode before 1.21). A prepared statement outlives a migration that changes its tables
until the worker's connection is replaced, so restart the site after migrating (a deployment
does).
"""
from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.db.models import QuerySet

from .models import Participant

SENTINEL = -918273645  # stands for the one parameter while the SQL is compiled


@dataclass(frozen=True)
class _Compiled:
    sql: str  # with one %s
    fields: list[str]  # the columns' attribute names, in the SQL's order
    converters: dict  # column index -> (the ORM's from-database converters, the column's expression)
    own: tuple[int, ...] = ()  # the columns of the queried model
    related: tuple[tuple[str, tuple[int, ...]], ...] = ()  # (relation, its columns) of each select_related model


@functools.cache
def _compiled(vendor: str, key: str, build: Callable[[object], QuerySet]) -> _Compiled:
    query = build(SENTINEL).query
    compiler = query.get_compiler(connection=connection)
    sql, params = compiler.as_sql()
    if [str(p) for p in params] != [str(SENTINEL)]:  # a text column gets the sentinel as text
        raise RuntimeError(f"the hot-path query {key} must take exactly one parameter, not {params}")
    columns = [column for column, _, _ in compiler.select[: compiler.col_count]]
    klass = compiler.klass_info
    related = tuple((info["field"].name, tuple(info["select_fields"])) for info in klass.get("related_klass_infos", []))
    return _Compiled(sql, [column.target.attname for column in columns], compiler.get_converters(columns),
                     tuple(klass["select_fields"]), related)


@functools.cache
def _prepared_cursor_class():
    from psycopg import Cursor

    class Prepared(Cursor):
        def execute(self, query, params=None, **kwargs):
            return super().execute(query, params, prepare=True, **kwargs)

    return Prepared


def _cursor(db):
    """A cursor for the compiled queries on ``db`` (a connection, not Django's proxy, whose every
    attribute is a thread-local lookup): on PostgreSQL a server-binding one that prepares each
    statement, wrapped as Django wraps its own. While queries are logged (DEBUG, a test counting
    them) Django's own cursor, whose log shows each statement with its values."""
    if db.vendor != "postgresql" or not settings.POSTGRES_PREPARED or db.queries_logged:
        return db.cursor()
    db.close_if_health_check_failed()  # what connection.cursor() does first
    db.ensure_connection()
    db.validate_thread_sharing()
    return db.make_cursor(_prepared_cursor_class()(db.connection))


def rows(key: str, build: Callable[[object], QuerySet], parameter) -> list[tuple]:
    """``build(parameter)``'s rows, for ``values_list`` querysets of plain columns (no converters)."""
    db = connections[DEFAULT_DB_ALIAS]
    with _cursor(db) as cursor:
        cursor.execute(_compiled(db.vendor, key, build).sql, [parameter])
        return cursor.fetchall()


def _instance(model, compiled: _Compiled, row: tuple, db):
    """``model``'s instance from ``row`` of ``compiled``, with the fields' converters applied as the
    ORM applies them (dates on SQLite, JSON) and the select_related instances attached."""
    values = list(row)
    for index, (converters, expression) in compiled.converters.items():
        for convert in converters:
            values[index] = convert(values[index], expression, db)

    def instance(of, columns: tuple[int, ...]):
        return of.from_db(db.alias, [compiled.fields[i] for i in columns], [values[i] for i in columns])

    found = instance(model, compiled.own)
    for name, columns in compiled.related:
        setattr(found, name, instance(model._meta.get_field(name).related_model, columns))
    return found


def first(model, key: str, build: Callable[[object], QuerySet], parameter):
    """The first instance of ``build(parameter)`` (a ``model`` queryset, with at most one level of
    ``select_related``), as the ORM would build it; None when there is none."""
    db = connections[DEFAULT_DB_ALIAS]
    compiled = _compiled(db.vendor, key, build)
    with _cursor(db) as cursor:
        cursor.execute(compiled.sql, [parameter])
        row = cursor.fetchone()
    return None if row is None else _instance(model, compiled, row, db)


def first_with_rows(model, key: str, build: Callable[[object], QuerySet], rows_key: str,
                    rows_build: Callable[[object], QuerySet], parameter, order: int) -> tuple[object | None, list[tuple]]:
    """:func:`first` and :func:`rows` of the same parameter in one statement, one round trip:
    (the instance or None, the rows ordered by their column ``order``; no rows without the
    instance). Each query keeps its own SQL, as the ORM wrote it; a join on TRUE puts them side
    by side, the instance's columns repeated on each row, and once with NULLs where there are no
    rows. The rows' own ORDER BY and LIMIT choose them; the outer ORDER BY keeps their order,
    which a join does not promise."""
    db = connections[DEFAULT_DB_ALIAS]
    one, many = _compiled(db.vendor, key, build), _compiled(db.vendor, rows_key, rows_build)
    width = len(one.fields)
    with _cursor(db) as cursor:
        cursor.execute(f"SELECT * FROM ({one.sql}) AS one LEFT JOIN ({many.sql}) AS many ON TRUE "
                       f"ORDER BY {width + order + 1}", [parameter, parameter])
        found = cursor.fetchall()
    if not found:
        return None, []
    rows = [row[width:] for row in found if row[width] is not None]  # a row's first column is its primary key
    return _instance(model, one, found[0][:width], db), rows


@functools.cache
def _insert_sql(vendor: str, model, fields: tuple[str, ...]) -> str:
    quote = connection.ops.quote_name
    columns = ", ".join(quote(model._meta.get_field(name).column) for name in fields)
    return f"INSERT INTO {quote(model._meta.db_table)} ({columns}) VALUES ({', '.join(['%s'] * len(fields))})"


def insert(model, **values) -> None:
    """One row of ``model`` with these field values, as ``Model.objects.create`` stores it but
    without building a model instance and the ORM's INSERT each time (a sixth of a vote's CPU
    under cProfile).
    Each value goes through its field's ``get_db_prep_save`` (dates, time zones), so give every
    field that has no database default, ``auto_now_add`` ones included; no signals are sent and
    the new primary key is not read back. A constraint violation raises Django's IntegrityError."""
    fields = tuple(values)
    meta = model._meta
    db = connections[DEFAULT_DB_ALIAS]
    params = [meta.get_field(name).get_db_prep_save(value, db) for name, value in values.items()]
    with _cursor(db) as cursor:
        cursor.execute(_insert_sql(db.vendor, model, fields), params)


def insert_many(model, fields: tuple[str, ...], rows: list[tuple], chunk: int = 20_000) -> None:
    """Many rows of ``model`` (values in the order of ``fields``, already as the database stores
    them), with the INSERT :func:`insert` uses and executemany: 500,000 trials in seconds, where
    ``bulk_create``, which builds an instance and compiles every value, took over 20 s."""
    db = connections[DEFAULT_DB_ALIAS]
    sql = _insert_sql(db.vendor, model, tuple(fields))
    with db.cursor() as cursor:
        for start in range(0, len(rows), chunk):
            cursor.executemany(sql, rows[start : start + chunk])


def _participant_by_token(token) -> QuerySet:
    return Participant.objects.select_related("study").filter(token=token)


def participant(token: str) -> Participant | None:
    """The participant with this token and its study: one compiled query."""
    return first(Participant, "participant_with_study", _participant_by_token, token)


def participant_with_rows(token: str, rows_key: str, rows_build: Callable[[object], QuerySet],
                          order: int) -> tuple[Participant | None, list[tuple]]:
    """The participant with this token and its study, and the rows of ``rows_build(token)``
    ordered by their column ``order``, in one statement."""
    return first_with_rows(Participant, "participant_with_study", _participant_by_token, rows_key, rows_build, token, order)
