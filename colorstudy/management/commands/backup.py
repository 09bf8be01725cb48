"""Copy the SQLite database with SQLite's online backup API: consistent while the site keeps writing."""
from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection


def backup_sqlite(source: Path, target: Path) -> int:
    """Online backup of ``source`` into ``target``; returns the number of pages copied."""
    target.parent.mkdir(parents=True, exist_ok=True)
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True, timeout=30)
    dst = sqlite3.connect(target)
    try:
        with dst:
            src.backup(dst, pages=1024)  # in steps, so writers are never blocked for long
        pages = dst.execute("PRAGMA page_count").fetchone()[0]
        check = dst.execute("PRAGMA integrity_check").fetchone()[0]
        if check != "ok":
            raise CommandError(f"the backup {target} failed its integrity check: {check}")
        return pages
    finally:
        src.close()
        dst.close()


class Command(BaseCommand):
    help = "Back up the SQLite database (safe while the site runs). For PostgreSQL use pg_dump (see README)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--output", help="backup file (default: var/backups/colorstudy-<UTC time>.sqlite3)")

    def handle(self, *args, **options) -> None:
        if connection.vendor != "sqlite":
            raise CommandError(
                f"the database is {connection.vendor}; back it up with: pg_dump --format=custom --file=study.dump \"$DATABASE_URL\""
            )
        source = Path(settings.DATABASES["default"]["NAME"])
        if not source.exists():
            raise CommandError(f"no database at {source}")
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        target = Path(options["output"] or settings.DATA_DIR / "backups" / f"colorstudy-{stamp}.sqlite3")
        pages = backup_sqlite(source, target)
        self.stdout.write(f"backed up {source} to {target} ({pages} pages, integrity ok)")
