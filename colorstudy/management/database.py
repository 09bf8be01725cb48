"""The one check every command that reads or writes a study makes first: is the database set up?"""
from __future__ import annotations

from django.core.management.base import CommandError
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.executor import MigrationExecutor


def require_migrated(alias: str = DEFAULT_DB_ALIAS) -> None:
    """Raise a one-line CommandError when the database lacks migrations (instead of a traceback)."""
    connection = connections[alias]
    executor = MigrationExecutor(connection)
    pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
    if pending:
        where = connection.settings_dict.get("NAME") or alias
        raise CommandError(
            f"the database ({where}) is not set up: {len(pending)} migration(s) not applied; "
            "run `python manage.py migrate` first"
        )
