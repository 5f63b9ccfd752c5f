from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl
import pytest
from conftest import REGISTER_HEADER, person, write_register

from convoc.errors import MalformedFile
from convoc.sources.extract import Extracted, decode, extract, find_landing_files, read_csv, sniff_delimiter

NAMES = ["Łukasz", "Gonçalves", "Strauß", "Søren", "Zoë"]


def test_latin1_file_is_decoded_not_rejected(tmp_path: Path) -> None:
    rows = [person(1, family_name="Gonçalves", given_name="Hélène"), person(2, family_name="Müller")]
    path = write_register(tmp_path / "register_20210129.csv", rows, encoding="latin-1")
    frame, encoding, _ = read_csv(path)
    assert encoding == "cp1252"
    assert frame["family_name"].to_list() == ["Gonçalves", "Müller"]
    assert frame["given_name"][0] == "Hélène"


def test_utf8_bom_and_crlf(tmp_path: Path) -> None:
    rows = [person(i, family_name=n) for i, n in enumerate(NAMES)]
    path = write_register(tmp_path / "register_20210129.csv", rows, encoding="utf-8-sig", newline="\r\n")
    frame, encoding, _ = read_csv(path)
    assert encoding == "utf-8-sig"
    assert frame.columns == ["_line", *REGISTER_HEADER]  # no BOM left on the first column name
    assert frame["family_name"].to_list() == NAMES
    assert frame["status"].to_list() == ["resident"] * 5  # no trailing \r
    assert frame["_line"].to_list() == [2, 3, 4, 5, 6]


def test_semicolon_delimiter_is_sniffed(tmp_path: Path) -> None:
    path = write_register(tmp_path / "r.csv", [person(1)], delimiter=";")
    frame, _, delimiter = read_csv(path)
    assert delimiter == ";"
    assert frame["commune"].to_list() == ["Luxembourg"]


def test_blanks_trimmed_and_empty_is_null(tmp_path: Path) -> None:
    path = write_register(tmp_path / "r.csv", [person(1, family_name="  Thill ", house_number="", language=" ")])
    frame, _, _ = read_csv(path)
    assert frame["family_name"][0] == "Thill"
    assert frame["house_number"][0] is None
    assert frame["language"][0] is None


def test_control_characters_are_kept_for_validation(tmp_path: Path) -> None:
    path = write_register(tmp_path / "r.csv", [person(1, given_name="Jo\x07ão")])
    frame, _, _ = read_csv(path)
    assert frame["given_name"][0] == "Jo\x07ão"


def test_empty_file_gives_no_columns(tmp_path: Path) -> None:
    path = tmp_path / "register_20210129.csv"
    path.write_bytes(b"")
    frame, _, _ = read_csv(path)
    assert frame.height == 0
    assert frame.columns == ["_line"]


def test_decode_prefers_utf8() -> None:
    assert decode("Ł".encode()) == ("Ł".encode(), "utf-8")
    assert decode(b"\xe9")[1] == "cp1252"
    assert decode(b"\xef\xbb\xbfa") == (b"a", "utf-8-sig")


@pytest.mark.parametrize(("line", "expected"), [(b"a,b", ","), (b"a;b;c", ";"), (b"a\tb", "\t"), (b"abc", ",")])
def test_sniff_delimiter(line: bytes, expected: str) -> None:
    assert sniff_delimiter(line) == expected


def test_find_landing_files_picks_the_day_register_first(tmp_path: Path) -> None:
    for name in [
        "priority_vulnerable_20210129.csv",
        "register_20210129.csv",
        "register_20210130.csv",
        "notes.txt",
        "priority_carehomes_20210129.csv",
    ]:
        (tmp_path / name).write_text("x\n")
    found = find_landing_files(tmp_path, date(2021, 1, 29))
    assert [f.path.name for f in found] == [
        "register_20210129.csv",
        "priority_carehomes_20210129.csv",
        "priority_vulnerable_20210129.csv",
    ]
    assert find_landing_files(tmp_path / "missing", date(2021, 1, 29)) == []


def test_extract_parks_parquet_and_round_trips(tmp_path: Path) -> None:
    path = write_register(
        tmp_path / "landing" / "register_20210129.csv", [person(1), person(2)], header=[*REGISTER_HEADER, "comment"]
    )
    landing = find_landing_files(tmp_path / "landing", date(2021, 1, 29))[0]
    ex = extract(landing, tmp_path / "work")
    assert ex.rows == 2
    assert ex.columns == tuple(REGISTER_HEADER)  # the unknown column is dropped
    assert len(ex.sha256) == 64
    assert pl.read_parquet(ex.parquet)["matricule"].to_list() == [person(1)["matricule"], person(2)["matricule"]]
    assert Extracted.from_dict(ex.as_dict()) == ex
    assert path.exists()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"a,b\n1,2\n3,4,5\n", "register_20210129.csv: not a readable CSV file: line 3 has 3 fields, the header has 2"),
        (b'a,b\n1,2\n3,"4\n', "register_20210129.csv: not a readable CSV file: line 3: unexpected end of data"),
    ],
)
def test_malformed_file_names_the_line(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "register_20210129.csv"
    path.write_bytes(content)
    with pytest.raises(MalformedFile) as err:
        read_csv(path)
    assert str(err.value) == message
