"""convoc_dev.synth.generate: deterministic files, valid where they should be, realistic, damaged exactly as told.

The defect checks use an independent checker (the file's bytes read line by line, Python's csv module,
unicodedata, stdnum and the reference sets), not the generator's code; only the length limits are shared.
"""

from __future__ import annotations

import csv
import hashlib
import io
import itertools
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import polars as pl
import pytest
from stdnum import luhn, verhoeff

from convoc import reference
from convoc_dev.synth import generate
from convoc_dev.synth.defects import MAX_LENGTHS

START = date(2021, 1, 29)
REGISTER_COLUMNS = (
    "matricule,family_name,given_name,birth_date,sex,street,house_number,postcode,locality,commune,nationality,"
    "language,status"
)
LIST_COLUMNS = {
    "priority_carehomes": "matricule,role,facility,commune",
    "priority_healthworkers": "matricule,profession,sector",
    "priority_vulnerable": "matricule,level,condition,registered_on,doctor_code",
    "priority_conditions": "matricule,condition,registered_on",
}
CONTACT_COLUMNS = "matricule,email,channel,format,consented_on,withdrawn_on"
RULES = {
    "matricule_check_digit",
    "duplicate_matricule",
    "birth_date_unparseable",
    "birth_date_future",
    "unknown_postcode",
    "unknown_commune",
    "missing_required",
    "control_character",
    "invisible_character",
    "too_long",
    "unprintable_character",
    "malformed_row",
    "bad_encoding",
}
LINE_RULES = ("malformed_row", "bad_encoding")
REQUIRED = (
    "family_name",
    "given_name",
    "birth_date",
    "sex",
    "street",
    "postcode",
    "locality",
    "commune",
    "nationality",
    "status",
)
ADDRESS = ["street", "house_number", "postcode", "locality", "commune"]
NATIONAL = 634_730


def read(path: Path) -> pl.DataFrame:
    return pl.read_csv(path, infer_schema=False)


def digests(folder: Path) -> dict[str, str]:
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*.csv"))
    }


def ages(register: pl.DataFrame, day: date = START) -> pl.Series:
    age = (pl.lit(day) - pl.col("birth_date").str.to_date()).dt.total_days() / 365.2425
    return register.select(age.alias("age"))["age"]


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three days of 20,000 residents, no defects."""
    out = tmp_path_factory.mktemp("clean")
    generate(residents=20_000, seed=11, out=out, start_date=START, days=3)
    return out


@pytest.fixture(scope="module")
def register(clean: Path) -> pl.DataFrame:
    return read(clean / "register_20210129.csv")


def test_headers_are_exactly_the_file_columns(clean: Path) -> None:
    first_line = (clean / "register_20210129.csv").read_bytes().split(b"\n", 1)[0]
    assert first_line == REGISTER_COLUMNS.encode()  # no BOM, no \r
    for name, columns in {**LIST_COLUMNS, "contact_preferences": CONTACT_COLUMNS}.items():
        assert (clean / f"{name}_20210129.csv").read_text(encoding="utf-8").split("\n", 1)[0] == columns


def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path: Path) -> None:
    for name, seed in [("a", 5), ("b", 5), ("c", 6)]:
        generate(residents=3_000, seed=seed, out=tmp_path / name, start_date=START, days=2, defects=0.01)
    a, b, c = (digests(tmp_path / name) for name in "abc")
    # two days of six files, three truths (defects, variants, contact preferences) a day
    assert len(a) == 2 * 6 + 6
    assert a == b
    assert a.keys() == c.keys()
    # (a later day's few contact declarations are too few to damage: that truth is empty whatever the seed)
    assert all(a[k] != c[k] for k in a if k != "_truth/contact_preferences_defects_20210130.csv")


def test_one_record_per_line_in_every_file(clean: Path) -> None:
    for path in sorted(clean.glob("*.csv")):
        data = path.read_bytes()
        assert b"\r" not in data and data.endswith(b"\n")
        assert data.count(b"\n") == read(path).height + 1, path.name


def test_matricules_are_valid_unique_and_encode_the_birth_date(register: pl.DataFrame) -> None:
    assert register.height == 20_000
    for m in register["matricule"].to_list():
        assert re.fullmatch(r"\d{13}", m), m
        assert luhn.is_valid(m[:11] + m[11]) and verhoeff.is_valid(m[:11] + m[12]), m
    assert register["matricule"].n_unique() == register.height
    assert (register["matricule"].str.slice(0, 8) == register["birth_date"].str.replace_all("-", "")).all()
    assert register["matricule"].is_sorted()


def test_addresses_are_real_and_consistent(register: pl.DataFrame) -> None:
    assert set(register["postcode"]) <= reference.postcode_set()
    known = (
        reference.postcodes()
        .drop_nulls("commune_2021")
        .select(("L-" + pl.col("postcode")).alias("postcode"), "postal_locality", "commune_2021")
    )
    triples = set(known.rows())
    assert set(register.select("postcode", "locality", "commune").rows()) <= triples
    assert set(register["commune"]) == reference.commune_set()  # all 102 at 20,000
    capital = (register["commune"] == "Luxembourg").mean()
    assert capital is not None and 0.17 <= capital <= 0.23  # type: ignore[operator]
    south_and_centre = register.join(reference.communes(), on="commune")["canton"].is_in(
        ["Esch-sur-Alzette", "Luxembourg"]
    )
    assert 0.55 <= south_and_centre.mean() <= 0.65  # type: ignore[operator]


def test_house_numbers_and_long_streets(register: pl.DataFrame) -> None:
    numbers = register["house_number"].drop_nulls()
    assert numbers.str.contains(r"^[1-9]\d*[A-Z]?$").all()
    assert 0.002 <= register["house_number"].null_count() / register.height <= 0.02
    long = (register["street"].str.len_chars() >= 45).mean()
    assert long is not None and 0.001 <= long <= 0.02  # type: ignore[operator]


def test_age_pyramid(register: pl.DataFrame) -> None:
    age = ages(register)
    assert age.min() >= 0 and age.max() < 106  # type: ignore[operator]
    assert 0.14 <= (age < 15).mean() <= 0.18  # type: ignore[operator]
    assert 0.13 <= (age >= 65).mean() <= 0.17  # type: ignore[operator]
    assert 0.025 <= (age >= 80).mean() <= 0.055  # type: ignore[operator]
    old_women = register.filter(age >= 80)["sex"] == "F"
    assert old_women.mean() > 0.55  # type: ignore[operator]
    assert set(register["sex"]) == {"F", "M"}


def test_nationalities_languages_statuses(register: pl.DataFrame) -> None:
    foreign = (register["nationality"] != "LU").mean()
    assert foreign is not None and 0.42 <= foreign <= 0.52  # type: ignore[operator]
    portuguese = (register["nationality"] == "PT").mean()
    assert portuguese is not None and 0.12 <= portuguese <= 0.17  # type: ignore[operator]
    assert register["nationality"].str.contains(r"^[A-Z]{2}$").all()
    assert set(register["language"].drop_nulls()) == {"fr", "de", "en", "pt"}
    assert 0 < register["language"].null_count() < 0.01 * register.height
    assert set(register.filter(pl.col("nationality").is_in(["FR", "BE"]))["language"].drop_nulls()) == {"fr"}
    assert set(register.filter(pl.col("nationality") == "DE")["language"].drop_nulls()) == {"de"}
    status = register["status"].value_counts(normalize=True)
    share = dict(zip(status["status"], status["proportion"], strict=True))
    assert share.keys() == {"resident", "deceased", "emigrated"}
    assert 0.97 <= share["resident"] <= 0.995
    assert ages(register.filter(pl.col("status") == "deceased")).median() > 70  # type: ignore[operator]


def test_names_carry_the_accents(register: pl.DataFrame) -> None:
    text = "".join(register["family_name"].to_list() + register["given_name"].to_list())
    for letter in "łőșøñçãüßé":
        assert letter in text, letter
    assert not register["family_name"].str.contains(r"^\s|\s$").any()


def test_households_share_addresses_names_and_ages(register: pl.DataFrame) -> None:
    size = register.group_by(ADDRESS).agg(pl.len().alias("n"))
    members = register.join(size, on=ADDRESS, nulls_equal=True)
    assert (members["n"] >= 2).mean() > 0.5  # type: ignore[operator]
    assert 2.0 <= register.height / size.height <= 2.8
    # Families: three or more at one address (care homes excluded) mostly share one family name ...
    homes = size.filter(pl.col("n").is_between(3, 8)).join(register, on=ADDRESS, nulls_equal=True)
    families = homes.group_by(ADDRESS).agg(
        pl.col("family_name").value_counts().struct.field("count").max().alias("same_name"),
        pl.col("nationality").n_unique().alias("nationalities"),
        (pl.col("birth_date").str.to_date().max() - pl.col("birth_date").str.to_date().min())
        .dt.total_days()
        .alias("span"),
    )
    assert (families["same_name"] >= 2).mean() > 0.7  # type: ignore[operator]
    assert (families["nationalities"] == 1).mean() > 0.6  # type: ignore[operator]
    # ... and span generations: usually 20+ years between the oldest and the youngest.
    assert (families["span"] >= 20 * 365).mean() > 0.6  # type: ignore[operator]


def test_priority_lists_name_residents_in_plausible_numbers(clean: Path, register: pl.DataFrame) -> None:
    residents = register.filter(pl.col("status") == "resident")
    lists = {name: read(clean / f"{name}_20210129.csv") for name in LIST_COLUMNS}
    for name, frame in lists.items():
        assert set(frame["matricule"]) <= set(residents["matricule"]), name
    homes = lists["priority_carehomes"]
    assert set(homes["role"]) == {"resident", "staff"}
    staff_and_homes = homes.height + lists["priority_healthworkers"].height
    assert 0.8 <= staff_and_homes / (38_000 * 20_000 / NATIONAL) <= 1.2
    in_homes = homes.filter(pl.col("role") == "resident").join(register, on="matricule", suffix="_register")
    assert (in_homes["commune"] == in_homes["commune_register"]).all()  # they live at their home
    assert ages(in_homes).median() > 80  # type: ignore[operator]
    workers = lists["priority_healthworkers"].join(register, on="matricule")
    assert ages(workers).min() >= 22 and ages(workers).max() < 67  # type: ignore[operator]
    assert set(workers["sector"]) <= {"hospital", "practice", "care_home", "pharmacy", "rescue"}
    vulnerable = lists["priority_vulnerable"]
    assert set(vulnerable["level"]) == {"high", "significant", "moderate"}
    adults = (ages(residents) >= 18).sum()
    assert 0.06 <= vulnerable.height / adults <= 0.14
    assert vulnerable["doctor_code"].str.contains(r"^D\d{6}$").all()
    assert (vulnerable["registered_on"].str.to_date() < START).all()
    conditions = lists["priority_conditions"].join(register, on="matricule")
    assert set(conditions["condition"]) == {"pregnancy", "bmi_30_40", "diabetes", "hypertension"}
    assert (conditions.filter(pl.col("condition") == "pregnancy")["sex"] == "F").all()


def test_days_change_a_little(clean: Path, register: pl.DataFrame) -> None:
    day3 = read(clean / "register_20210131.csv")
    assert set(register["matricule"]) <= set(day3["matricule"])  # stable; newcomers are added
    assert day3["matricule"].n_unique() == day3.height
    assert 0 < day3.height - register.height < 0.01 * register.height
    both = register.join(day3, on="matricule", suffix="_3")
    assert (both["birth_date"] == both["birth_date_3"]).all() and (both["given_name"] == both["given_name_3"]).all()
    moved = both.filter(pl.any_horizontal(pl.col(c).ne_missing(pl.col(f"{c}_3")) for c in ADDRESS))
    assert 0 < moved.height < 0.005 * register.height
    died = both.filter((pl.col("status") == "resident") & (pl.col("status_3") == "deceased"))
    assert died.height > 0
    on_lists = pl.concat([read(clean / f"{name}_20210131.csv")["matricule"] for name in LIST_COLUMNS])
    assert set(on_lists) <= set(day3.filter(pl.col("status") == "resident")["matricule"])


# An independent checker of the rules a defect may break, reading the file's bytes line by line.
COLUMNS = tuple(REGISTER_COLUMNS.split(","))
NAMES = ("family_name", "given_name")
TEXT = ("family_name", "given_name", "street", "locality")
# What the ingest strips from a matricule (space, no-break space, narrow no-break space, dot, hyphen).
SEPARATORS = re.compile("[ \u00a0\u202f.-]")
POSTCODE = re.compile(r"[Ll][ -]?(\d{4})|(\d{4})")


@dataclass(frozen=True)
class Record:
    """One record of a register file: where it starts, its physical lines, its fields when well formed."""

    line: int
    lines: tuple[bytes, ...]
    fields: tuple[str, ...] | None  # None: not one CSV record of the 13 columns with clean quoting
    utf8: bool

    def row(self) -> dict[str, str | None]:
        """The values (empty = None); on a line with invalid UTF-8, U+FFFD marks the bad bytes."""
        assert self.fields is not None
        return {c: v or None for c, v in zip(COLUMNS, self.fields, strict=True)}


def is_utf8(raw: bytes) -> bool:
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def csv_fields(text: str) -> tuple[str, ...] | None:
    """The fields of ``text`` when it is exactly one record of the 13 columns and quotes only delimit fields."""
    try:
        rows = list(csv.reader(io.StringIO(text, newline=""), strict=True))
    except csv.Error:
        return None
    if len(rows) != 1 or len(rows[0]) != len(COLUMNS) or any('"' in f for f in rows[0]):
        return None
    return tuple(rows[0])


def records(data: bytes) -> list[Record]:
    """The records after the header: one per physical line, or two lines when a quoted field holds a line break."""
    assert data.endswith(b"\n") and b"\r" not in data
    physical = data[:-1].split(b"\n")
    assert physical[0] == REGISTER_COLUMNS.encode()
    found: list[Record] = []
    k = 1
    while k < len(physical):
        raw, utf8, span = physical[k], is_utf8(physical[k]), 1
        text = raw.decode("utf-8", errors="replace")
        fields = csv_fields(text)
        if fields is None and utf8 and text.count('"') == 1 and k + 1 < len(physical) and is_utf8(physical[k + 1]):
            joined = csv_fields(text + "\n" + physical[k + 1].decode("utf-8"))
            if joined is not None:
                fields, span = joined, 2
        found.append(Record(line=k + 1, lines=tuple(physical[k : k + span]), fields=fields, utf8=utf8))
        k += span
    return found


def canonical_matricule(value: str | None) -> str:
    return SEPARATORS.sub("", value or "")


def valid_matricule(m: str) -> bool:
    return bool(re.fullmatch("[0-9]{13}", m)) and luhn.is_valid(m[:12]) and verhoeff.is_valid(m[:11] + m[12])


def normal_text(value: str) -> str:
    """NFC, runs of spaces and tabs as one space, trimmed."""
    return re.sub("[ \t]+", " ", unicodedata.normalize("NFC", value)).strip(" ")


def canonical_postcode(value: str) -> str:
    match = POSTCODE.fullmatch(value)
    return f"L-{match.group(1) or match.group(2)}" if match else value


def clean_row(record: Record) -> dict[str, str | None]:
    """The row, with the bad bytes of a bad-encoding line dropped from the names (where they must be)."""
    row = record.row()
    if not record.utf8:
        row = {c: (v.replace("\ufffd", "") if c in NAMES and v else v) for c, v in row.items()}
    return row


def text_defects(column: str, value: str) -> set[tuple[str | None, str]]:
    found: set[tuple[str | None, str]] = set()
    normal = normal_text(value)
    for c in normal:
        category = unicodedata.category(c)
        if category in ("Cc", "Zl", "Zp"):
            found.add((column, "control_character"))
        elif category.startswith("C"):
            found.add((column, "invisible_character"))
        elif not (" " <= c <= "~" or unicodedata.name(c, "").startswith("LATIN ")):
            found.add((column, "unprintable_character"))
    if len(normal) > MAX_LENGTHS[column]:
        found.add((column, "too_long"))
    return found


def defects_of(record: Record, day: date, seen: Counter[str]) -> set[tuple[str | None, str]]:
    """(column, rule) for every rule the record breaks; column None for the whole line."""
    if record.fields is None:
        return {(None, "malformed_row")}
    found: set[tuple[str | None, str]] = set() if record.utf8 else {(None, "bad_encoding")}
    row = clean_row(record)
    m = canonical_matricule(row["matricule"])
    if not valid_matricule(m):
        found.add(("matricule", "matricule_check_digit"))
    elif seen[m] > 1:
        found.add(("matricule", "duplicate_matricule"))
    found |= {(c, "missing_required") for c in REQUIRED if not row[c]}
    born = row["birth_date"]
    if born:
        try:
            if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", born):
                raise ValueError(born)
            if datetime.strptime(born, "%Y-%m-%d").date() > day:
                found.add(("birth_date", "birth_date_future"))
        except ValueError:
            found.add(("birth_date", "birth_date_unparseable"))
    if row["postcode"] and canonical_postcode(row["postcode"]) not in reference.postcode_set():
        found.add(("postcode", "unknown_postcode"))
    if row["commune"] and row["commune"] not in reference.commune_set():
        found.add(("commune", "unknown_commune"))
    for column in TEXT:
        found |= text_defects(column, row[column] or "")
    # Damage elsewhere than the truth says would show here (sex is F or M in generated data).
    if (
        row["sex"] not in ("F", "M", None)
        or row["language"] not in ("fr", "de", "en", "pt", None)
        or row["status"] not in ("resident", "deceased", "emigrated", None)
        or not re.fullmatch(r"[A-Z]{2}", row["nationality"] or "LU")
        or not re.fullmatch(r"[1-9][0-9]*[A-Z]?", row["house_number"] or "1")
        or len(row["house_number"] or "") > MAX_LENGTHS["house_number"]
    ):
        found.add((None, "invalid_value"))
    return found


def variants_of(row: dict[str, str | None]) -> set[tuple[str, str, str]]:
    """(column, variant, canonical) for every value not written in its canonical form."""
    found: set[tuple[str, str, str]] = set()
    matricule = row["matricule"] or ""
    if canonical_matricule(matricule) != matricule:
        found.add(("matricule", "matricule_separators", canonical_matricule(matricule)))
    for column in NAMES:
        value = row[column] or ""
        if unicodedata.normalize("NFC", value) != value:
            found.add((column, "nfd_name", unicodedata.normalize("NFC", value)))
    street = row["street"] or ""
    if normal_text(street) != street:
        found.add(("street", "inner_whitespace", normal_text(street)))
    postcode = row["postcode"] or ""
    if canonical_postcode(postcode) != postcode:
        found.add(("postcode", "postcode_forms", canonical_postcode(postcode)))
    return found


def inside(value: str, characters: str) -> bool:
    """Whether the value holds exactly one of the characters, and not at either end."""
    hits = [k for k, c in enumerate(value) if c in characters]
    return len(hits) == 1 and 0 < hits[0] < len(value) - 1


def form_of(record: Record, column: str | None, rule: str, day: date) -> str:
    """Which form of its class a damaged record takes, checked independently."""
    if rule == "malformed_row":
        text = record.lines[0].decode("utf-8")
        try:
            fields = next(csv.reader([text], strict=True))
        except csv.Error:
            assert text.count('"') == 1
            fields = text.replace('"', "").split(",")
            assert len(fields) == len(COLUMNS) and defects_of(record_of(fields), day, Counter()) == set()
            return "open_quote"
        if '"' in text:
            assert text.count('"') == 1 and len(fields) == len(COLUMNS)
            unquoted = record_of(text.replace('"', "").split(","))
            assert defects_of(unquoted, day, Counter()) == set()
            return "inner_quote"
        assert len(fields) in (len(COLUMNS) - 1, len(COLUMNS) + 1), fields
        if len(fields) > len(COLUMNS):
            assert defects_of(record_of(fields[: len(COLUMNS)]), day, Counter()) == set()
            return "extra_field"
        assert defects_of(record_of([*fields, "resident"]), day, Counter()) == set()
        return "missing_field"
    if rule == "bad_encoding":
        assert record.fields is not None and not record.utf8
        bad = [c for c in NAMES if "\ufffd" in (record.row()[c] or "")]
        assert bad and all(is_utf8(f) for k, f in enumerate(record.lines[0].split(b",")) if COLUMNS[k] not in bad)
        raw = record.lines[0].split(b",")[COLUMNS.index(bad[0])]
        without = [raw[:k] + raw[k + 1 :] for k in range(len(raw)) if raw[k] >= 0x80]
        latin1 = raw.decode("latin-1")
        if not any(b in raw for b in b"\x80\xc0\xfe\xff") and all(c.isalpha() or c in " '-" for c in latin1):
            assert not latin1.isascii()
            return "latin1"
        assert any(is_utf8(w) for w in without), raw
        return "bad_byte"
    assert column is not None and record.fields is not None
    value = record.row()[column] or ""
    if rule == "matricule_check_digit":
        if re.fullmatch("[0-9]{13}", value):
            return "check_digit"
        if value.count("O") == 1 and re.fullmatch("[0-9O]{13}", value):
            assert any(valid_matricule(value.replace("O", d)) for d in "0123456789")
            return "letter_o"
        scripts = {unicodedata.name(c).rsplit(" DIGIT", 1)[0] for c in value}
        assert len(value) == 13 and not value.isascii() and all(c.isdigit() for c in value) and len(scripts) == 1
        assert valid_matricule("".join(str(unicodedata.digit(c)) for c in value))
        return "digits " + scripts.pop()
    if rule == "duplicate_matricule":
        return "exact" if canonical_matricule(value) == value else "separated"
    if rule == "control_character":
        assert inside(value, "".join(chr(c) for c in range(0x20)) + "\x7f\x85\u2028")
        if "\n" in value:
            assert len(record.lines) == 2
            return "line_break"
        return {"\x85": "nel", "\u2028": "line_separator"}.get(next(c for c in value if not c.isprintable()), "c0")
    if rule == "invisible_character":
        assert inside(value, "".join(c for c in value if unicodedata.category(c) in ("Cf", "Co")))
        return "invisible"
    if rule == "too_long":
        assert MAX_LENGTHS[column] < len(value) <= 20_000
        assert all(c.isalpha() or c in " -" for c in value) and normal_text(value) == value
        return "very_long" if len(value) >= 19_000 else "long"
    if rule == "unprintable_character":
        latin = [c for c in value if c.isalpha() and unicodedata.name(c).startswith("LATIN ")]
        assert len(value) <= MAX_LENGTHS[column] and all(c.isalpha() or c in " -'" for c in value)
        return "mixed" if latin else "foreign"
    return rule


def record_of(fields: list[str]) -> Record:
    return Record(line=0, lines=(), fields=tuple(fields), utf8=True)


def check_register(folder: Path, day: date) -> tuple[list[Record], pl.DataFrame, pl.DataFrame]:
    """Check a damaged register against its two truths, record by record; returns what it read."""
    name = f"register_{day:%Y%m%d}.csv"
    data = (folder / name).read_bytes()
    found = records(data)
    truth = read(folder / "_truth" / f"defects_{day:%Y%m%d}.csv")
    variants = read(folder / "_truth" / f"variants_{day:%Y%m%d}.csv")
    assert truth.columns == ["file", "line", "column", "rule"]
    assert variants.columns == ["file", "line", "column", "variant", "canonical"]
    assert set(truth["file"]) <= {name} and set(variants["file"]) <= {name}
    assert truth["line"].cast(pl.Int64).is_sorted() and truth["line"].n_unique() == truth.height
    assert variants["line"].cast(pl.Int64).is_sorted() and variants["line"].n_unique() == variants.height
    expected = {int(line): (column, rule) for _, line, column, rule in truth.rows()}
    expected_variants = {
        int(line): (column, variant, canonical) for _, line, column, variant, canonical in variants.rows()
    }
    assert not expected.keys() & expected_variants.keys()
    starts = {r.line for r in found}
    assert expected.keys() <= starts and expected_variants.keys() <= starts  # physical first lines of records
    seen = Counter(canonical_matricule(r.row()["matricule"]) for r in found if r.fields is not None)
    for record in found:
        broken = defects_of(record, day, seen)
        if record.line in expected:
            assert broken == {expected[record.line]}, (record, broken, expected[record.line])
        else:
            assert not broken, (record, broken)
        if record.fields is None:
            continue
        varied = variants_of(clean_row(record))
        if record.line in expected_variants:
            assert varied == {expected_variants[record.line]}, (record, varied)
        elif expected.get(record.line, (None, None))[1] == "duplicate_matricule":
            assert {v for _, v, _ in varied} <= {"matricule_separators"}, (record, varied)
        else:
            assert not varied, (record, varied)
    return found, truth, variants


@pytest.fixture(scope="module")
def damaged(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two days of 6,000 residents with 1 % damaged rows (the end-to-end test's file)."""
    out = tmp_path_factory.mktemp("damaged")
    generate(residents=6_000, seed=7, out=out, start_date=START, days=2, defects=0.01)
    return out


@pytest.mark.parametrize("day", [START, date(2021, 1, 30)])
def test_every_damaged_row_breaks_exactly_the_rule_the_truth_names(damaged: Path, day: date) -> None:
    _, truth, _ = check_register(damaged, day)
    assert set(truth["rule"]) == RULES
    assert (
        truth.filter(pl.col("rule").is_in(LINE_RULES))["column"].null_count() == truth["rule"].is_in(LINE_RULES).sum()
    )
    assert truth.filter(~pl.col("rule").is_in(LINE_RULES))["column"].null_count() == 0


def test_length_limits_are_the_ingest_spec_numbers() -> None:
    assert MAX_LENGTHS == {"family_name": 60, "given_name": 60, "street": 80, "locality": 40, "house_number": 10}


def test_every_form_of_every_class_appears(damaged: Path) -> None:
    found, truth, _ = check_register(damaged, START)
    by_line = {r.line: r for r in found}
    forms: dict[str, Counter[str]] = {}
    for _, line, column, rule in truth.rows():
        forms.setdefault(rule, Counter())[form_of(by_line[int(line)], column, rule, START)] += 1
    assert forms["matricule_check_digit"].keys() >= {"check_digit", "letter_o"}
    assert any(f.startswith("digits ") for f in forms["matricule_check_digit"])
    assert forms["duplicate_matricule"].keys() == {"exact", "separated"}
    assert forms["control_character"].keys() == {"c0", "line_break", "nel", "line_separator"}
    assert forms["too_long"]["very_long"] >= 1 and forms["too_long"]["long"] >= 2
    assert forms["unprintable_character"].keys() == {"foreign", "mixed"}
    assert forms["malformed_row"].keys() == {"extra_field", "missing_field", "open_quote", "inner_quote"}
    assert forms["bad_encoding"].keys() == {"latin1", "bad_byte"}
    columns = truth.group_by("rule").agg(pl.col("column").unique())
    assert {c for cs in columns.filter(pl.col("rule") == "too_long")["column"] for c in cs} <= {*TEXT}


def test_both_copies_of_a_duplicate_are_named_and_collide_once_canonical(damaged: Path) -> None:
    found, truth, _ = check_register(damaged, START)
    by_line = {r.line: r for r in found}
    duplicates = [by_line[int(line)] for line in truth.filter(pl.col("rule") == "duplicate_matricule")["line"]]
    groups = Counter(canonical_matricule(r.row()["matricule"]) for r in duplicates)
    assert len(duplicates) >= 4 and set(groups.values()) == {2}


def test_hand_written_lines_never_touch_and_quotes_only_where_due(damaged: Path) -> None:
    for day in (START, date(2021, 1, 30)):
        found, _, _ = check_register(damaged, day)
        special = [r.fields is None or not r.utf8 or len(r.lines) > 1 for r in found]
        assert not any(a and b for a, b in itertools.pairwise(special))
        for record in found:
            quotes = sum(line.count(b'"') for line in record.lines)
            if len(record.lines) == 2:
                assert quotes == 2 and record.lines[0].count(b'"') == 1
            elif record.fields is not None:
                assert quotes == 0, record
        # Records after a line break start one physical line later.
        assert found[-1].line == len(found) + 1 + sum(len(r.lines) > 1 for r in found)


def test_the_file_is_utf8_but_for_the_bad_encoding_lines(damaged: Path) -> None:
    data = (damaged / "register_20210129.csv").read_bytes()
    truth = read(damaged / "_truth" / "defects_20210129.csv")
    bad = {int(line) for line in truth.filter(pl.col("rule") == "bad_encoding")["line"]}
    physical = data[:-1].split(b"\n")
    assert {k + 1 for k, raw in enumerate(physical) if not is_utf8(raw)} == bad
    assert "é".encode() in data and "ü".encode() in data and not data.startswith(b"\xef\xbb\xbf")


def test_benign_variants_carry_their_form_and_canonical(damaged: Path) -> None:
    found, _, variants = check_register(damaged, START)
    by_line = {r.line: r for r in found}
    counts = Counter(variants["variant"])
    assert set(counts) == {"matricule_separators", "nfd_name", "inner_whitespace", "postcode_forms"}
    assert 20 <= variants.height <= 200 and min(counts.values()) >= 5
    postcodes = {
        by_line[int(line)].row()["postcode"] for line in variants.filter(pl.col("variant") == "postcode_forms")["line"]
    }
    assert {re.sub(r"\d", "9", p or "") for p in postcodes} == {"L 9999", "l-9999", "L9999", "9999"}
    streets = [
        by_line[int(line)].row()["street"] or ""
        for line in variants.filter(pl.col("variant") == "inner_whitespace")["line"]
    ]
    assert any("  " in s for s in streets) and any("\t" in s for s in streets)
    assert any(s.startswith(" ") for s in streets) and any(s.endswith(" ") for s in streets)
    separators = {
        c
        for m in variants.filter(pl.col("variant") == "matricule_separators")["line"]
        for c in by_line[int(m)].row()["matricule"] or ""
        if not c.isdigit()
    }
    assert len(separators) >= 2 and separators <= {" ", "\u00a0", "\u202f", ".", "-"}


def test_defects_break_exactly_the_rule_the_truth_names(tmp_path: Path) -> None:
    result = generate(residents=5_000, seed=2, out=tmp_path, start_date=START, days=2, defects=0.02)
    assert [p.name for p in result.truth_files] == ["defects_20210129.csv", "defects_20210130.csv"]
    assert [p.name for p in result.variant_files] == ["variants_20210129.csv", "variants_20210130.csv"]
    total = 0
    for day in (START, date(2021, 1, 30)):
        found, truth, _ = check_register(tmp_path, day)
        assert set(truth["rule"]) == RULES
        assert abs(truth.height - round(0.02 * len(found))) <= 1
        assert truth.filter(pl.col("rule") == "duplicate_matricule").height % 2 == 0
        total += truth.height
        # Defects stay in the register: the lists name the same people as on a clean run.
        residents = {r.row()["matricule"] for r in found if r.fields is not None and r.row()["status"] == "resident"}
        for list_name in LIST_COLUMNS:
            assert set(read(tmp_path / f"{list_name}_{day:%Y%m%d}.csv")["matricule"]) <= residents
    assert result.defect_rows == total


def test_defects_leave_the_population_and_the_lists_alone(tmp_path: Path) -> None:
    generate(residents=2_000, seed=4, out=tmp_path / "clean", start_date=START, days=2)
    generate(residents=2_000, seed=4, out=tmp_path / "damaged", start_date=START, days=2, defects=0.05)
    for day in ("20210129", "20210130"):
        for list_name in LIST_COLUMNS:
            path = f"{list_name}_{day}.csv"
            assert (tmp_path / "clean" / path).read_bytes() == (tmp_path / "damaged" / path).read_bytes()
        clean = read(tmp_path / "clean" / f"register_{day}.csv")
        damaged = records((tmp_path / "damaged" / f"register_{day}.csv").read_bytes())
        truth = read(tmp_path / "damaged" / "_truth" / f"defects_{day}.csv")
        variants = read(tmp_path / "damaged" / "_truth" / f"variants_{day}.csv")
        assert len(damaged) == clean.height
        lines = set(truth["line"].cast(pl.Int64))
        varied = {int(line): (column, canonical) for _, line, column, _, canonical in variants.rows()}
        for record, row in zip(damaged, clean.iter_rows(named=True), strict=True):
            if record.line in lines:
                continue
            values = record.row()
            if record.line in varied:
                column, canonical = varied[record.line]
                assert row[column] == canonical  # the canonical form is the clean run's value
                values[column] = canonical
            assert values == row, record


def test_small_files_still_get_every_defect_class(tmp_path: Path) -> None:
    result = generate(residents=150, seed=9, out=tmp_path, start_date=START, defects=0.001)
    truth = read(result.truth_files[0])
    assert set(truth["rule"]) == RULES
    assert result.defect_rows == truth.height == len(RULES) + 1  # one per class, two for the duplicate pair
    check_register(tmp_path, START)


def test_no_defects_no_truth(tmp_path: Path) -> None:
    result = generate(residents=500, seed=2, out=tmp_path, start_date=START)
    assert result.truth_files == [] and result.variant_files == [] and not (tmp_path / "_truth").exists()
    assert result.residents == 500 and result.defect_rows == 0
    assert [p.name for p in result.files] == [
        "register_20210129.csv",
        "priority_carehomes_20210129.csv",
        "priority_healthworkers_20210129.csv",
        "priority_vulnerable_20210129.csv",
        "priority_conditions_20210129.csv",
        "contact_preferences_20210129.csv",
    ]


@pytest.mark.parametrize("residents", [1, 7, 60])
def test_tiny_populations(tmp_path: Path, residents: int) -> None:
    result = generate(residents=residents, seed=1, out=tmp_path, start_date=START, days=2, defects=0.1)
    found = records((tmp_path / "register_20210129.csv").read_bytes())
    assert len(found) == result.residents == residents
    check_register(tmp_path, START)
    check_register(tmp_path, date(2021, 1, 30))


def test_bad_arguments(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="at least 1"):
        generate(residents=0, seed=1, out=tmp_path)
    with pytest.raises(ValueError, match="at least 1"):
        generate(residents=10, seed=1, out=tmp_path, days=0)
    with pytest.raises(ValueError, match="defect rate"):
        generate(residents=10, seed=1, out=tmp_path, defects=0.5)


def test_contact_preferences_name_adults_in_plausible_shares_and_change_over_days(tmp_path: Path) -> None:
    generate(residents=20_000, seed=3, out=tmp_path, start_date=START, days=3)
    register = read(tmp_path / "register_20210129.csv")
    first = read(tmp_path / "contact_preferences_20210129.csv")
    assert first.columns == CONTACT_COLUMNS.split(",") and first["matricule"].is_unique().all()
    people = first.join(register, on="matricule")
    assert people.height == first.height and set(people["status"]) == {"resident"}
    assert (people["birth_date"] <= "2005-01-29").all()  # 16 and over
    shares = first["channel"].value_counts(normalize=True)
    share = dict(zip(shares["channel"], shares["proportion"], strict=True))
    assert 0.45 < share["email"] < 0.70 and 0.25 < share["both"] < 0.45 and 0.03 < share["paper"] < 0.15
    assert first.filter(pl.col("channel") == "paper")["email"].is_null().all()
    assert first.filter(pl.col("channel") != "paper")["email"].str.contains("@").all()
    assert 0.03 < (first["format"] == "large_print").mean() < 0.2
    later = read(tmp_path / "contact_preferences_20210131.csv")
    assert later.height > 0 and (
        later["withdrawn_on"].is_not_null().any() or later["consented_on"].max() == "2021-01-31"
    )
