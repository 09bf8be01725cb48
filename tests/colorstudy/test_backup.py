from __future__ import annotations

import sqlite3
import threading

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
