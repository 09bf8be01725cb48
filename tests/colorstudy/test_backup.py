from __future__ import annotations

import io
import sqlite3
import subprocess
import threading

import pytest
from django.core.management import CommandError, call_command

from colorstudy.management.commands.backup import backup_sqlite


def test_an_online_backup_taken_during_writes_is_consistent(tmp_path):
    source = tmp_path / "live.sqlite3"
    db = sqlite3.connect(source)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("CREATE TABLE vote (id INTEGER PRIMARY KEY, side TEXT NOT NULL)")
    db.executemany("INSERT INTO vote (side) VALUES (?)", [("left",)] * 5000)
    db.commit()
    stop = threading.Event()

    def writer():
        w = sqlite3.connect(source, timeout=30)
        while not stop.is_set():
            w.execute("INSERT INTO vote (side) VALUES ('right')")
            w.commit()
        w.close()

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        backup_sqlite(source, tmp_path / "copy.sqlite3")
    finally:
        stop.set()
        thread.join()
    copy = sqlite3.connect(tmp_path / "copy.sqlite3")
    assert copy.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    n = copy.execute("SELECT count(*) FROM vote").fetchone()[0]
    assert 5000 <= n <= db.execute("SELECT count(*) FROM vote").fetchone()[0]


@pytest.mark.django_db(transaction=True)
def test_the_backup_command_dumps_postgresql_and_keeps_only_the_newest(tmp_path, settings):
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("runs in the PostgreSQL pass of `make test`")
    settings.DATA_DIR = tmp_path
    old = tmp_path / "backups" / "colorstudy-20000101T000000Z.dump"
    old.parent.mkdir()
    old.write_bytes(b"an old backup")
    out = io.StringIO()
    call_command("backup", "--keep", "1", stdout=out)
    dumps = sorted((tmp_path / "backups").glob("colorstudy-*.dump"))
    assert len(dumps) == 1 and dumps[0] != old  # the old one pruned, the new one kept
    listing = subprocess.run(["pg_restore", "--list", str(dumps[0])], capture_output=True, text=True, check=True)
    assert "TABLE public colorstudy_vote" in listing.stdout
    assert "readable by pg_restore" in out.getvalue() and "removed the old backup" in out.getvalue()


@pytest.mark.django_db
def test_a_backup_without_the_postgresql_client_names_the_package(monkeypatch, settings, tmp_path):
    from colorstudy.management.commands import backup

    monkeypatch.setattr(backup.shutil, "which", lambda tool: None)
    with pytest.raises(CommandError, match="pg_dump is not installed; install Debian's postgresql-client"):
        backup.backup_postgresql({"NAME": "x"}, tmp_path / "x.dump")
