"""The published copy: the marts only, owner-only, replaced atomically; an analyst's connection keeps reading
while the pipeline writes the warehouse and publishes again."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from convoc import warehouse
from convoc.config import Settings
from convoc.stats.publish import publish


def count(path: Path) -> int:
    with duckdb.connect(str(path), read_only=True) as con:
        return int(con.execute("select count(*) from marts.t").fetchall()[0][0])


@pytest.fixture
def source(tmp_path: Path) -> Path:
    path = tmp_path / "warehouse" / "convoc.duckdb"
    with warehouse.connect(path) as con:
        con.execute("create schema marts; create table marts.t as select range as i from range(3)")
        con.execute("create schema core; create table core.secret as select 'Gonçalves' as family_name")
    return path


def test_published_copy_holds_the_marts_only(source: Path, tmp_path: Path) -> None:
    target = tmp_path / "warehouse" / "published" / "convoc.duckdb"
    with warehouse.connect(source, read_only=True) as con:  # a read-only warehouse connection is enough
        assert publish(con, target) == {"marts.t": 3}
    with duckdb.connect(str(target), read_only=True) as pub:
        assert pub.execute("select distinct schema_name from duckdb_tables()").fetchall() == [("marts",)]
        with pytest.raises(duckdb.Error):  # read-only for analysts
            pub.execute("insert into marts.t values (9)")
    assert target.stat().st_mode & 0o777 == 0o600
    assert target.parent.stat().st_mode & 0o777 == 0o700
    assert sorted(p.name for p in target.parent.iterdir()) == ["convoc.duckdb"]  # no partial or WAL left


def test_readers_and_the_writer_do_not_block_each_other(source: Path, tmp_path: Path) -> None:
    target = tmp_path / "published.duckdb"
    with warehouse.connect(source) as writer:
        publish(writer, target)
        reader = duckdb.connect(str(target), read_only=True)  # an analyst's session, left open
        try:
            writer.execute("insert into marts.t values (10), (11)")  # the pipeline keeps writing …
            publish(writer, target)  # … and publishes again under the open session
            assert reader.execute("select count(*) from marts.t").fetchall() == [(3,)]  # the copy it opened
            # Another process opens the new copy while the writer still holds the warehouse.
            out = subprocess.run(
                [sys.executable, "-c", "import duckdb, sys; c = duckdb.connect(sys.argv[1], read_only=True); "
                 "print(c.execute('select count(*) from marts.t').fetchall()[0][0])", str(target)],
                capture_output=True, text=True, check=True, timeout=60,
            )  # fmt: skip
            assert out.stdout.strip() == "5"
        finally:
            reader.close()
    assert count(target) == 5


def test_replacement_is_atomic(source: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "published.duckdb"
    with warehouse.connect(source) as con:
        publish(con, target)
        con.execute("insert into marts.t values (10)")

        def crash(*args: object) -> None:
            raise OSError("disk full")

        monkeypatch.setattr("convoc.stats.publish.os.replace", crash)
        with pytest.raises(OSError):
            publish(con, target)
    assert count(target) == 3  # a failed publication leaves the previous copy whole, and no partial file
    assert sorted(p.name for p in tmp_path.iterdir() if "published" in p.name) == ["published.duckdb"]


def test_settings_published_path(tmp_path: Path) -> None:
    settings = Settings.from_env({"CONVOC_HOME": str(tmp_path)})
    assert settings.published == tmp_path.resolve() / "warehouse" / "published" / "convoc.duckdb"


def test_shell_reads_the_copy(source: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from convoc.stats.shell import main

    target = tmp_path / "published.duckdb"
    with warehouse.connect(source, read_only=True) as con:
        publish(con, target)
    assert main([str(target), "-c", "select count(*) as n from marts.t;\ninsert into marts.t values (1);"]) == 0
    out = capsys.readouterr().out
    assert "│ 3 │" in out or " 3 " in out
    assert "error:" in out and "read-only" in out.lower()
    assert main([str(tmp_path / "missing.duckdb")]) == 1


@pytest.mark.parametrize(
    "statement",
    [
        "attach '{live}' as live;",
        "select * from read_csv('{landing}');",
        "select * from '{landing}';",
        "copy marts.t to '{out}';",
        "set enable_external_access = true;",
        "reset enable_external_access;",
        "set lock_configuration = false;",
        "load httpfs;",
    ],
)
def test_the_shell_reaches_nothing_but_the_copy(
    statement: str, source: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # An analyst cannot attach the live warehouse, read a landing file, write a file, or undo the seal.
    from convoc.stats.shell import main

    target = tmp_path / "published.duckdb"
    with warehouse.connect(source, read_only=True) as con:
        publish(con, target)
    landing = tmp_path / "register_20210129.csv"
    landing.write_text("matricule,family_name\n1950031400112,Schmit\n")
    sql = statement.format(live=source, landing=landing, out=tmp_path / "out.csv")
    assert main([str(target), "-c", sql + "\nselect 'still here', age_band(70) as band;"]) == 0
    out = capsys.readouterr().out
    assert "error:" in out and ("disabled" in out or "Cannot change configuration" in out), out
    assert "Schmit" not in out and not (tmp_path / "out.csv").exists()
    assert "still here" in out and "70" in out  # the session goes on, with the pipeline's macros
