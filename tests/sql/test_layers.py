"""The rules of sql/README.md: every table names its one writer in its header comment and nothing else writes
it; a layer reads only the layers above it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from convoc import warehouse

ROOT = Path(__file__).resolve().parents[2]
SQL = ROOT / "sql"
PACKAGE = ROOT / "include" / "convoc"

_CREATE = re.compile(r"^create\s+(?:or\s+replace\s+)?table\s+(?:if\s+not\s+exists\s+)?([a-z_{}]+\.[a-z_{}]+)")
_WRITER = re.compile(r"Writer: ([^(]+?) \(([^)]*)\)")
_WRITES = re.compile(r"\b(?:insert\s+into|update|delete\s+from|create\s+or\s+replace\s+table)\s+core\.([a-z_]+)\b")
_READS = re.compile(r"\b(raw|quarantine|staging|core|marts)\.[a-z_]+")


def _tables(path: Path) -> list[tuple[str, str]]:
    """(table, the comment lines just above its ``create table``) for every table a file creates."""
    found = []
    for statement in warehouse.statements(path.read_text(encoding="utf-8")):
        lines = statement.splitlines()
        comments = [line.strip().removeprefix("--").strip() for line in lines if line.strip().startswith("--")]
        code = "\n".join(line for line in lines if not line.strip().startswith("--")).strip()
        match = _CREATE.match(code)
        if match:
            found.append((match.group(1), " ".join(comments)))
    return found


def _all_tables() -> dict[str, tuple[Path, str]]:
    tables = {}
    for path in sorted(SQL.rglob("*.sql")):
        for table, header in _tables(path):
            tables[table] = (path, header)
    return tables


def _code(text: str) -> str:
    """SQL without its comments and string literals."""
    return re.sub(r"'[^']*'", "''", re.sub(r"--[^\n]*", "", text))


def test_every_table_names_its_one_writer() -> None:
    tables = _all_tables()
    ddl = {t for t, (path, _) in tables.items() if path.parent.name == "ddl"}
    assert {"core.fct_invitation", "core.fct_print_batch_letter", "raw.load_log", "marts.fct_dispatch_daily",
            "raw.{source}", "quarantine.{source}_rejects"} <= ddl  # fmt: skip
    for table, (path, header) in tables.items():
        writers = _WRITER.findall(header)
        assert len(writers) == 1, f"{path.relative_to(ROOT)}: {table} must name one writer in its header comment"


def test_no_core_table_has_a_second_writer() -> None:
    """Every file that writes a core table (SQL under sql/, Python of the package) is named by its Writer line."""
    writers = {t: _WRITER.findall(h)[0][1] for t, (_, h) in _all_tables().items() if t.startswith("core.")}
    assert "core.fct_invitation" in writers and "core.dim_invitation_current" not in writers  # a view
    written: dict[str, set[str]] = {}
    for path in sorted(SQL.rglob("*.sql")):
        if path.parent.name == "ddl":  # the tables themselves, and migrations moving data once
            continue
        for table in _WRITES.findall(_code(path.read_text(encoding="utf-8"))):
            written.setdefault(f"core.{table}", set()).add(str(path.relative_to(ROOT)))
    for path in sorted(PACKAGE.rglob("*.py")):
        module = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        for table in _WRITES.findall(path.read_text(encoding="utf-8")):
            written.setdefault(f"core.{table}", set()).add(module)
    assert written["core.fct_invitation"] == {"convoc.waves.plan"}
    for table, places in written.items():
        assert table in writers, f"{table} is written ({sorted(places)}) but no DDL creates it"
        named = [n.strip() for n in writers[table].split(",")]
        for place in places:
            assert any(n == place or n.startswith(place + ".") for n in named), (
                f"{place} writes {table}, whose one writer is {writers[table]}"
            )


ALLOWED = {
    "staging": {"raw", "quarantine"},
    "intermediate": {"raw", "quarantine", "staging", "core"},
    "core": {"staging", "core"},
    "marts": {"core"},
    "checks": {"core", "marts"},
    "reports": {"marts"},
    "macros": set(),
}


@pytest.mark.parametrize("layer", sorted(ALLOWED))
def test_layers_read_only_the_layers_above(layer: str) -> None:
    files = sorted((SQL / layer).glob("*.sql"))
    assert files
    for path in files:
        read = {m.group(1) for m in _READS.finditer(_code(path.read_text(encoding="utf-8")))}
        assert read <= ALLOWED[layer], f"sql/{layer}/{path.name} reads {sorted(read - ALLOWED[layer])}"


def test_every_sql_folder_is_described() -> None:
    readme = (SQL / "README.md").read_text(encoding="utf-8")
    for folder in sorted(p.name for p in SQL.iterdir() if p.is_dir()):
        assert f"`{folder}/`" in readme
