"""Extraction: what is read is what is hashed, lines become records or named rejects, values are normalised."""

from __future__ import annotations

import csv
import hashlib
import io
import logging
import os
import stat
from datetime import date
from pathlib import Path

import polars as pl
import pytest
from conftest import REGISTER_HEADER, person, write_register
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from convoc.errors import FileChanging, FileNotReady, FileRefused
from convoc.sources.extract import (
    MALFORMED_TOLERATED,
    Extracted,
    Landing,
    LandingFile,
    LandingReader,
    check_unchanged,
    extract,
    find_landing_files,
    record_boundary,
    sniff_delimiter,
    split,
)

DAY = date(2021, 1, 29)
NAMES = ["Łukasz", "Gonçalves", "Strauß", "Søren", "Zoë"]
HEADER = ",".join(REGISTER_HEADER)


def _line(**overrides: str) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerow(person(1, **overrides).values())
    return out.getvalue().removesuffix("\n")


def _extract(tmp_path: Path, content: bytes, **kw: object) -> Extracted:
    landing = tmp_path / "landing"
    landing.mkdir(parents=True, exist_ok=True)
    (landing / "register_20210129.csv").write_bytes(content)
    [found] = find_landing_files(landing, DAY)
    return extract(found, tmp_path / "work", **kw)  # type: ignore[arg-type]


def _frame(ex: Extracted) -> pl.DataFrame:
    return pl.read_parquet(ex.parquet)


def _line_rejects(ex: Extracted) -> list[tuple[int, str]]:
    return pl.read_parquet(ex.rejects).select("line_number", "rule").rows()


# --- decoding ---------------------------------------------------------------------------------------------


def test_latin1_file_is_decoded_not_rejected(tmp_path: Path) -> None:
    rows = [person(1, family_name="Gonçalves", given_name="Hélène"), person(2, family_name="Müller")]
    path = write_register(tmp_path / "register_20210129.csv", rows, encoding="latin-1")
    parts = split(path.read_bytes(), path.name)
    assert parts.encoding == "cp1252"
    assert parts.frame["_c1"].to_list() == ["Gonçalves", "Müller"]
    assert parts.frame["_c2"][0] == "Hélène"
    assert parts.problems == []


def test_utf8_bom_and_crlf(tmp_path: Path) -> None:
    rows = [person(i, family_name=n) for i, n in enumerate(NAMES)]
    path = write_register(tmp_path / "register_20210129.csv", rows, encoding="utf-8-sig", newline="\r\n")
    parts = split(path.read_bytes(), path.name)
    assert parts.encoding == "utf-8-sig"
    assert parts.header == REGISTER_HEADER  # no BOM left on the first column name
    assert parts.frame["_c1"].to_list() == NAMES
    assert parts.frame["_c12"].to_list() == ["resident"] * 5  # no trailing \r
    assert parts.frame["_line"].to_list() == [2, 3, 4, 5, 6]


def test_utf8_file_with_a_few_invalid_bytes_quarantines_those_lines_without_mojibake(tmp_path: Path) -> None:
    good = [_line(family_name=n) for n in NAMES]
    bad_latin1 = _line(family_name="Lefèvre").encode("latin-1")  # é as the single byte 0xE9
    bad_ff = _line(family_name="Thill").replace("Thill", "Th\udcffill").encode("utf-8", "surrogateescape")
    content = b"\n".join([HEADER.encode(), *(g.encode() for g in good[:2]), bad_latin1, good[2].encode(), bad_ff])
    ex = _extract(tmp_path, content + b"\n")
    assert ex.encoding == "utf-8"
    assert _line_rejects(ex) == [(4, "bad_encoding"), (6, "bad_encoding")]
    frame = _frame(ex)
    assert frame["_line"].to_list() == [2, 3, 5]
    assert frame["family_name"].to_list() == NAMES[:3]
    assert (ex.rows, ex.parsed) == (5, 3)
    assert not any("Ã" in v for v in frame["family_name"].to_list())


def test_header_that_is_not_utf8_refuses_the_file(tmp_path: Path) -> None:
    content = HEADER.replace("family_name", "family_nam\xe9").encode("latin-1") + b"\n" + _line().encode() + b"\n"
    content += _line(family_name="Müller").encode() + b"\n"  # UTF-8 beyond ASCII: not a Latin-1 file
    with pytest.raises(FileRefused, match=r"line 1 \(the header\) is not valid UTF-8 \[rule unreadable_header\]"):
        _extract(tmp_path, content)


def test_windows_1252_only_characters_are_decoded(tmp_path: Path) -> None:
    content = (HEADER + "\n" + _line(family_name="D’Amato")).encode("cp1252")
    ex = _extract(tmp_path, content)
    assert ex.encoding == "cp1252"
    assert _frame(ex)["family_name"].to_list() == ["D’Amato"]


@pytest.mark.parametrize(("line", "expected"), [("a,b", ","), ("a;b;c", ";"), ("a\tb", "\t"), ("abc", ",")])
def test_sniff_delimiter(line: str, expected: str) -> None:
    assert sniff_delimiter(line) == expected


def test_semicolon_delimiter(tmp_path: Path) -> None:
    path = write_register(tmp_path / "register_20210129.csv", [person(1)], delimiter=";")
    parts = split(path.read_bytes(), path.name)
    assert parts.delimiter == ";"
    assert parts.frame["_c9"].to_list() == ["Luxembourg"]


# --- records ----------------------------------------------------------------------------------------------


def test_each_malformed_row_is_named_and_the_rest_loads(tmp_path: Path) -> None:
    lines = [
        HEADER,
        _line(),  # 2
        _line() + ",extra",  # 3: a field too many
        _line().rsplit(",", 1)[0],  # 4: a field too few
        _line(family_name='"Müller'),  # 5: a quote that never closes (written as """Müller)
        _line().replace("Gonçalves", 'Gon"çalves'),  # 6: a quote inside an unquoted field
        _line().replace("Gonçalves", '"Gonçalves"x'),  # 7: text after a closing quote
        _line(family_name='Da "Silva"'),  # 8: properly quoted quotes
        _line(street="rue de la Gare, 2e étage"),  # 9: a delimiter inside quotes
        "",  # 10: blank lines are no rows
        "   ",  # 11
        _line(),  # 12
    ]
    lines[4] = lines[4].replace('"""Müller"', '"Müller')
    ex = _extract(tmp_path, "\n".join(lines).encode())
    assert _line_rejects(ex) == [(3, "malformed_row"), (4, "malformed_row"), (5, "malformed_row"),
                                 (6, "malformed_row"), (7, "malformed_row")]  # fmt: skip
    frame = _frame(ex)
    assert frame["_line"].to_list() == [2, 8, 9, 12]
    assert frame["family_name"].to_list() == ["Gonçalves", 'Da "Silva"', "Gonçalves", "Gonçalves"]
    assert frame["street"][2] == "rue de la Gare, 2e étage"
    assert (ex.rows, ex.parsed) == (9, 4)
    rejects = pl.read_parquet(ex.rejects)
    assert rejects["column_name"].null_count() == rejects.height  # the whole row
    assert rejects["value_masked"].null_count() == rejects.height  # nothing of it is shown


def test_a_quoted_line_break_is_one_record_on_its_first_line(tmp_path: Path) -> None:
    content = "\n".join([HEADER, _line(), _line(given_name="Jean\nPierre"), _line(), _line(given_name="A\r\nB")])
    ex = _extract(tmp_path, content.encode())
    frame = _frame(ex)
    assert frame["_line"].to_list() == [2, 3, 5, 6]  # physical lines: the records after it keep theirs
    assert frame["given_name"].to_list() == ["Inês", "Jean\nPierre", "Inês", "A\r\nB"]  # exactly as delivered
    assert _line_rejects(ex) == []


def test_an_unclosed_quote_does_not_swallow_the_next_rows(tmp_path: Path) -> None:
    broken = _line().replace("Gonçalves", '"Gonçalves')
    ex = _extract(tmp_path, "\n".join([HEADER, broken, *[_line() for _ in range(8)]]).encode())
    assert _line_rejects(ex) == [(2, "malformed_row")]
    assert _frame(ex)["_line"].to_list() == list(range(3, 11))


@pytest.mark.parametrize(
    ("bad", "rule"),
    [
        ((_line() + ",extra").encode(), "malformed_row"),  # a field too many
        (_line(family_name="Lefèvre").encode("latin-1"), "bad_encoding"),  # in a UTF-8 file: é as one byte
    ],
    ids=["malformed", "not UTF-8"],
)
def test_too_many_malformed_rows_refuse_the_file_with_the_count(tmp_path: Path, bad: bytes, rule: str) -> None:
    good = _line(family_name="Müller").encode()  # real UTF-8: the file is UTF-8, never re-read as Latin-1
    rows = [bad if i % 50 == 0 else good for i in range(1, 1101)]  # 22 of 1,100 = 2 %
    with pytest.raises(FileRefused) as err:
        _extract(tmp_path, b"\n".join([HEADER.encode(), *rows]))
    assert str(err.value).endswith(
        "register_20210129.csv: 22 of 1,100 rows (2.00%) are malformed or not UTF-8, more than the allowed 1% "
        "(first at line 51) [rule malformed_rows]"
    )
    ex = _extract(tmp_path, b"\n".join([HEADER.encode(), *rows]), max_malformed_share=0.05)
    assert _line_rejects(ex) == [(i + 1, rule) for i in range(50, 1101, 50)]


def test_a_few_malformed_rows_never_refuse_a_small_file(tmp_path: Path) -> None:
    rows = [_line() + ",extra"] * MALFORMED_TOLERATED + [_line()] * 5
    ex = _extract(tmp_path, "\n".join([HEADER, *rows]).encode())
    assert (ex.rows, ex.parsed) == (MALFORMED_TOLERATED + 5, 5)


@pytest.mark.parametrize(
    ("header", "message"),
    [
        (HEADER.replace("family_name", '"family_name'), "line 1 (the header) has broken quoting"),
        (HEADER.replace("given_name", "matricule"), "column(s) matricule named twice in the header"),
    ],
)
def test_unreadable_header_refuses_the_file(tmp_path: Path, header: str, message: str) -> None:
    with pytest.raises(FileRefused, match="unreadable_header") as err:
        _extract(tmp_path, f"{header}\n{_line()}\n".encode())
    assert message in str(err.value)


def test_a_file_without_header_never_logs_its_first_row(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    secret = person(1, family_name="Quaxterbrook")
    caplog.set_level(logging.DEBUG)
    ex = _extract(tmp_path, (_line(family_name="Quaxterbrook") + "\n" + _line() + "\n").encode())
    assert ex.columns == ()  # nothing recognised: validation refuses it (missing_column)
    assert "13 column(s) not in the register format ignored" in caplog.text
    for value in (secret["matricule"], "Quaxterbrook", "Inês", "rue de la Gare"):
        assert value not in caplog.text


# --- normalisation --------------------------------------------------------------------------------------------


def test_values_are_normalised_by_their_column_kind(tmp_path: Path) -> None:
    typed = person(1)
    m = typed["matricule"]
    rows = [
        person(
            1, matricule=f"{m[:4]} {m[4:8]} {m[8:11]} {m[11:]}", family_name="Zoe\u0308", street="  rue\tde  la Gare "
        ),
        person(2, matricule=f"{m[:4]}\u00a0{m[4:8]}.{m[8:]}", postcode="l 1009", house_number=" "),
        person(3, postcode="1009", given_name="Anne\u2003Marie", language=""),
        person(4, given_name="Jo\x07ão", family_name="Mül\u200bler"),  # kept as they are, for the checks
    ]
    path = write_register(tmp_path / "landing" / "register_20210129.csv", rows)
    ex = extract(LandingFile("register", path, DAY), tmp_path / "work")
    frame = _frame(ex)
    assert frame["matricule"].to_list() == [m, m, person(3)["matricule"], person(4)["matricule"]]
    assert frame["family_name"].to_list() == ["Zoë", "Gonçalves", "Gonçalves", "Mül\u200bler"]
    assert frame["family_name"][0] == "Zo\u00eb"  # NFC
    assert frame["street"][0] == "rue de la Gare"
    assert frame["postcode"].to_list() == ["L-1009", "L-1009", "L-1009", "L-1009"]
    assert frame["house_number"][1] is None
    assert frame["language"][2] is None
    assert frame["given_name"].to_list() == ["Inês", "Inês", "Anne Marie", "Jo\x07ão"]


# --- what is read is what is hashed -------------------------------------------------------------------------


def test_extract_parks_private_parquet_and_hashes_the_bytes_parsed(tmp_path: Path) -> None:
    path = write_register(
        tmp_path / "landing" / "register_20210129.csv", [person(1), person(2)], header=[*REGISTER_HEADER, "comment"]
    )
    ex = extract(find_landing_files(tmp_path / "landing", DAY)[0], tmp_path / "work")
    assert ex.rows == 2
    assert ex.columns == tuple(REGISTER_HEADER)  # the unknown column is dropped
    assert ex.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert _frame(ex)["matricule"].to_list() == [person(1)["matricule"], person(2)["matricule"]]
    assert Extracted.from_dict(ex.as_dict()) == ex
    for p in (ex.parquet, ex.rejects):
        assert stat.S_IMODE(os.stat(p).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(ex.parquet.parent).st_mode) == 0o700


def _read(path: Path, block_bytes: int = 1 << 20) -> tuple[list[bytes], Landing]:
    reader = LandingReader(path, block_bytes)
    pieces = list(reader)
    assert reader.landing is not None
    return pieces, reader.landing


def test_a_file_changed_after_it_was_read_is_refused_for_a_retry(tmp_path: Path) -> None:
    path = write_register(tmp_path / "register_20210129.csv", [person(1)])
    _, landing = _read(path)
    check_unchanged(path, landing)
    with path.open("a") as fh:
        fh.write(_line() + "\n")
    with pytest.raises(FileChanging, match=r"register_20210129\.csv: the file changed"):
        check_unchanged(path, landing)
    _, landing = _read(path)
    os.replace(write_register(tmp_path / "other.csv", [person(1), person(2)]), path)  # replaced by a new file
    with pytest.raises(FileChanging):
        check_unchanged(path, landing)


def test_a_file_growing_while_it_is_read_is_refused(tmp_path: Path) -> None:
    path = write_register(tmp_path / "register_20210129.csv", [person(i) for i in range(1, 200)])
    reader = LandingReader(path, 1024)
    with pytest.raises(FileChanging, match="the file changed while it was read"):
        for n, _piece in enumerate(reader):
            if n == 1:
                with path.open("a") as fh:
                    fh.write(_line() + "\n")
    assert reader.landing is None


def test_pieces_end_between_records_and_hash_every_byte(tmp_path: Path) -> None:
    rows = [person(i) for i in range(1, 300)]
    rows[40]["street"] = "Rue\nde la Gare"  # a quoted line break: its record spans two lines
    path = write_register(tmp_path / "register_20210129.csv", rows)
    data = path.read_bytes()
    for block in (64, 1000, 4096, len(data) + 1):
        pieces, landing = _read(path, block)
        assert b"".join(pieces) == data
        assert landing.sha256 == hashlib.sha256(data).hexdigest()
        assert all(p.endswith(b"\n") for p in pieces[:-1])
        assert not any(p.startswith(b"de la Gare") for p in pieces)  # never inside the quoted field


def test_a_record_boundary_is_never_inside_a_quoted_field() -> None:
    # A line of odd quotes may open a field as well as close one: no cut within four lines after it.
    assert record_boundary(b'a,b\n1,"x\ny",3\n') == len(b"a,b\n")
    assert record_boundary(b'a,b\n1,"x\ny",3\n4\n5\n6\n7\n') == len(b'a,b\n1,"x\ny",3\n4\n5\n6\n7\n')
    # The last line opens a quote: the cut goes before it, or nowhere when every earlier line is as close.
    assert record_boundary(b'a,b\n1,2\n3,"x\n') == len(b"a,b\n1,2\n")
    assert record_boundary(b'1,"x\n2\n3\n4\n') == 0  # the quote opened four lines up may still close below
    assert record_boundary(b'1,"x\n2\n3\n4\n5\n') == len(b'1,"x\n2\n3\n4\n5\n')
    assert record_boundary(b"no line break") == 0


def test_readiness_marker(tmp_path: Path) -> None:
    (tmp_path / "landing").mkdir()
    path = write_register(tmp_path / "landing" / "register_20210129.csv", [person(1)])
    marker = path.with_name("register_20210129.csv.done")
    landing_file = find_landing_files(tmp_path / "landing", DAY)[0]
    with pytest.raises(FileNotReady, match=r"waiting for its readiness marker register_20210129\.csv\.done"):
        extract(landing_file, tmp_path / "work", require_marker=True)
    marker.write_text("")
    assert extract(landing_file, tmp_path / "work", require_marker=True).sha256 == _sha(path)
    marker.write_text(_sha(path) + "  register_20210129.csv\n")
    extract(landing_file, tmp_path / "work", require_marker=True)
    marker.write_text("0" * 64 + "\n")
    with pytest.raises(FileChanging, match="does not match its readiness marker"):
        extract(landing_file, tmp_path / "work", require_marker=True)
    assert not (tmp_path / "work" / "register.parquet").exists()  # nothing kept of a file not loaded


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_find_landing_files_picks_the_day_register_first(tmp_path: Path) -> None:
    for name in [
        "priority_vulnerable_20210129.csv",
        "register_20210129.csv",
        "register_20210130.csv",
        "register_20210129.csv.done",
        "notes.txt",
        "priority_carehomes_20210129.csv",
    ]:
        (tmp_path / name).write_text("x\n")
    found = find_landing_files(tmp_path, DAY)
    assert [f.path.name for f in found] == [
        "register_20210129.csv",
        "priority_carehomes_20210129.csv",
        "priority_vulnerable_20210129.csv",
    ]
    assert find_landing_files(tmp_path / "missing", DAY) == []


def test_empty_file_gives_no_columns(tmp_path: Path) -> None:
    ex = _extract(tmp_path, b"")
    assert (ex.rows, ex.parsed, ex.columns) == (0, 0, ())


# --- any text at all --------------------------------------------------------------------------------------


_FIELD = st.text(st.characters(blacklist_categories=("Cs",)), max_size=12)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(st.lists(_FIELD, min_size=3, max_size=3), min_size=1, max_size=8))
def test_records_written_by_any_csv_writer_come_back_exactly(rows: list[list[str]]) -> None:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")  # CR and LF both special: quoted wherever they occur
    writer.writerow(["a", "b", "c"])
    writer.writerows(rows)
    parts = split(out.getvalue().encode(), "f.csv")
    # A record is lost only if it is blank, or spans more lines than a record may (then it is named).
    kept = [tuple(r) for r in parts.frame.select("_c0", "_c1", "_c2").fill_null("").rows()]
    # Every record comes back with its values, unless it spans more lines than a record may (then its first
    # line is named malformed).
    readable = [tuple(r) for r in rows if sum(v.count("\n") for v in r) < 5]
    assert [r for r in kept if r in readable] == readable


@settings(max_examples=200, deadline=None)
@given(data=st.binary(max_size=400))
def test_any_bytes_are_read_or_refused_never_crash(data: bytes) -> None:
    try:
        parts = split(b"a,b,c\n" + data, "f.csv")
    except FileRefused as err:
        assert "[rule " in str(err)
        return
    assert parts.frame.width == 4
    lines = (b"a,b,c\n" + data).split(b"\n")
    assert all(1 < line <= len(lines) for line, _ in parts.problems)


def test_a_reader_error_is_reported_without_the_row_it_quotes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def failing(*args: object, **kwargs: object) -> None:
        raise pl.exceptions.ComputeError("could not parse `1950031400173,Gonçalves,Inês`")

    monkeypatch.setattr(pl, "read_csv", failing)
    with pytest.raises(FileRefused) as err:
        _extract(tmp_path, f"{HEADER}\n{_line()}\n".encode())
    assert str(err.value).endswith("the CSV reader failed (ComputeError) on well-shaped records [rule malformed_rows]")
    assert "Gonçalves" not in str(err.value) and err.value.__cause__ is None


def test_every_column_that_is_not_free_text_is_confined_to_a_format() -> None:
    from convoc.sources.specs import SOURCES, Column, SourceSpec

    for spec in SOURCES:
        for column in spec.schema:
            assert column.kind == "text" or column.restricted, (spec.name, column.name)
            assert column.kind != "text" or column.max_length, (spec.name, column.name)
    with pytest.raises(ValueError, match=r"x\.note: a code column needs a format or value set"):
        SourceSpec("x", (Column("note"),))
    with pytest.raises(ValueError, match=r"x\.note: a text column needs a maximum length"):
        SourceSpec("x", (Column("note", kind="text"),))


# --- in pieces: exactly what the whole file gives -------------------------------------------------------------


def _pieces_agree(tmp_path: Path, content: bytes, blocks: tuple[int, ...] = (16, 97, 1000)) -> Extracted:
    """Extract ``content`` whole and in pieces of each size in ``blocks``: the same rows, values, lines,
    rejects and encoding every time. Returns the whole extract."""
    whole = _extract(tmp_path / "whole", content, max_malformed_share=1.0)
    frame, rejects = pl.read_parquet(whole.parquet), pl.read_parquet(whole.rejects)
    for block in blocks:
        part = _extract(tmp_path / f"block{block}", content, block_bytes=block, max_malformed_share=1.0)
        assert (part.rows, part.parsed, part.encoding, part.sha256) == (
            whole.rows,
            whole.parsed,
            whole.encoding,
            whole.sha256,
        ), block
        assert pl.read_parquet(part.parquet).equals(frame), block
        assert pl.read_parquet(part.rejects).equals(rejects), block
    return whole


_RAW_FIELD = st.text(st.sampled_from(['"', "\n", "\r", ",", "a", "é", " "]), max_size=6)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    rows=st.lists(st.lists(_RAW_FIELD, min_size=8, max_size=10), min_size=1, max_size=12),
    quoted=st.booleans(),
)
def test_any_file_in_pieces_gives_what_it_gives_whole(
    tmp_path_factory: pytest.TempPathFactory, rows: list[list[str]], quoted: bool
) -> None:
    # Well-quoted records (csv.writer) or raw text joined with commas: quotes, line breaks and ragged rows.
    out = io.StringIO()
    if quoted:
        csv.writer(out, lineterminator="\n").writerows([REGISTER_HEADER, *rows])
    else:
        out.write("\n".join([HEADER, *(",".join(r) for r in rows)]) + "\n")
    _pieces_agree(tmp_path_factory.mktemp("pieces"), out.getvalue().encode())


def test_a_legacy_file_whose_first_pieces_are_ascii_is_read_again_in_its_encoding(tmp_path: Path) -> None:
    rows = [person(i) for i in range(1, 40)] + [person(40, family_name="Gonçalves")]
    content = write_register(tmp_path / "r.csv", rows, encoding="cp1252").read_bytes()
    whole = _pieces_agree(tmp_path, content)
    assert whole.encoding == "cp1252" and "Gonçalves" in pl.read_parquet(whole.parquet)["family_name"].to_list()


def test_utf8_in_one_piece_and_a_bad_byte_in_another_quarantines_the_bad_line(tmp_path: Path) -> None:
    rows = [person(1, family_name="Zoë")] + [person(i) for i in range(2, 40)]
    text = write_register(tmp_path / "r.csv", rows).read_bytes()
    content = text + _line(family_name="Gon\xe7alves").encode("utf-8").replace(b"\xc3\xa7", b"\xe7") + b"\n"
    whole = _pieces_agree(tmp_path, content)
    assert whole.encoding == "utf-8"
    assert pl.read_parquet(whole.rejects).select("line_number", "rule").rows() == [(41, "bad_encoding")]


# --- two stages: the reader and the thread that normalises and writes ---------------------------------------------


def _threads() -> set[str]:
    import threading

    return {t.name for t in threading.enumerate() if t.name.startswith("convoc-park")}


def test_a_failure_in_the_writing_thread_fails_the_extract_and_leaves_no_copy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import convoc.sources.extract as module

    calls, normalise = [], module.normalise

    def failing(values: pl.Series, kind: str) -> pl.Series:
        calls.append(kind)
        if len(calls) > 30:  # a later piece, not the first
            raise MemoryError("normalising failed")
        return normalise(values, kind)  # type: ignore[arg-type]

    monkeypatch.setattr(module, "normalise", failing)
    content = write_register(tmp_path / "r.csv", [person(i) for i in range(1, 200)]).read_bytes()
    with pytest.raises(MemoryError, match="normalising failed"):
        _extract(tmp_path, content, block_bytes=2048)
    assert len(calls) > 30
    assert not (tmp_path / "work" / "register.parquet").exists()
    assert not _threads()


def test_a_reader_failure_while_a_piece_is_written_leaves_no_copy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import convoc.sources.extract as module

    path = write_register(tmp_path / "landing" / "register_20210129.csv", [person(i) for i in range(1, 200)])
    pieces = module.LandingReader.__iter__

    def growing(self: LandingReader):  # type: ignore[no-untyped-def]
        for n, piece in enumerate(pieces(self)):
            if n == 2:
                with path.open("a") as fh:
                    fh.write(_line() + "\n")
            yield piece

    monkeypatch.setattr(module.LandingReader, "__iter__", growing)
    [found] = find_landing_files(tmp_path / "landing", DAY)
    with pytest.raises(FileChanging, match="changed while it was read"):
        extract(found, tmp_path / "work", block_bytes=2048)
    assert not (tmp_path / "work" / "register.parquet").exists()
    assert not _threads()


def test_pieces_are_written_in_file_order_one_row_group_each(tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    content = write_register(tmp_path / "r.csv", [person(i) for i in range(1, 400)]).read_bytes()
    ex = _extract(tmp_path, content, block_bytes=4096)
    meta = pq.ParquetFile(ex.parquet).metadata
    assert meta.num_row_groups > 5
    lines = pl.read_parquet(ex.parquet)["_line"].to_list()
    assert lines == list(range(2, 401))
    assert not _threads()
