"""Back up the study's database while the site keeps writing: SQLite's online backup API, or
pg_dump for PostgreSQL; each copy is checked (integrity check, or pg_restore's table of contents)."""
from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
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


def backup_postgresql(database: dict, target: Path) -> int:
    """``pg_dump --format=custom`` of the configured database (one consistent snapshot, taken
    without blocking writers); returns the number of entries pg_restore finds in the dump."""
    for tool in ("pg_dump", "pg_restore"):
        if shutil.which(tool) is None:
            raise CommandError(f"{tool} is not installed; install Debian's postgresql-client")
    target.parent.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "PGHOST": str(database.get("HOST") or ""), "PGPORT": str(database.get("PORT") or ""),
           "PGUSER": database.get("USER") or "", "PGPASSWORD": database.get("PASSWORD") or ""}
    dump = subprocess.run(["pg_dump", "--format=custom", f"--file={target}", database["NAME"]], env=env,
                          capture_output=True, text=True)
    if dump.returncode != 0:
        raise CommandError(f"pg_dump failed: {dump.stderr.strip().splitlines()[-1] if dump.stderr.strip() else dump.returncode}")
    listing = subprocess.run(["pg_restore", "--list", str(target)], capture_output=True, text=True)
    if listing.returncode != 0 or "colorstudy_vote" not in listing.stdout:
        raise CommandError(f"the backup {target} is not a readable dump of the study: {listing.stderr.strip()}")
    return sum(1 for line in listing.stdout.splitlines() if line and not line.startswith(";"))


def prune(folder: Path, pattern: str, keep: int) -> list[Path]:
    """Delete all but the newest ``keep`` files matching ``pattern`` (names sort by their UTC time)."""
    old = sorted(folder.glob(pattern))[:-keep] if keep > 0 else []
    for path in old:
        path.unlink()
    return old


class Command(BaseCommand):
    help = "Back up the database (safe while the site runs): SQLite's online backup, or pg_dump for PostgreSQL."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--output", help="backup file (default: COLORSTUDY_DATA/backups/colorstudy-<UTC time>.sqlite3 or .dump)")
        parser.add_argument("--keep", type=int, default=0, help="keep only the newest N backups in the default folder (0 keeps all)")

    def handle(self, *args, **options) -> None:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        folder = settings.DATA_DIR / "backups"
        database = settings.DATABASES["default"]
        if connection.vendor == "sqlite":
            source = Path(database["NAME"])
            if not source.exists():
                raise CommandError(f"no database at {source}")
            target = Path(options["output"] or folder / f"colorstudy-{stamp}.sqlite3")
            pages = backup_sqlite(source, target)
            self.stdout.write(f"backed up {source} to {target} ({pages} pages, integrity ok)")
            suffix = "sqlite3"
        elif connection.vendor == "postgresql":
            target = Path(options["output"] or folder / f"colorstudy-{stamp}.dump")
            entries = backup_postgresql(database, target)
            self.stdout.write(f"backed up PostgreSQL database {database['NAME']} to {target} ({entries} entries, readable by pg_restore)")
            suffix = "dump"
        else:
            raise CommandError(f"the database is {connection.vendor}; only sqlite and postgresql are supported")
        if options["keep"] and not options["output"]:
            for path in prune(folder, f"colorstudy-*.{suffix}", options["keep"]):
                self.stdout.write(f"removed the old backup {path}")
