"""The synthetic register: deterministic, valid where it should be, realistic, damaged exactly as told."""

from __future__ import annotations

import hashlib
from datetime import date
from pathlib import Path

import polars as pl
import pytest
from conftest import REGISTER_HEADER
from stdnum import luhn, verhoeff

from convoc import reference
from convoc.synth import generate

START = date(2021, 1, 29)


def _digests(folder: Path) -> dict[str, str]:
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*.csv"))
    }


@pytest.fixture(scope="module")
def population(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, pl.DataFrame]:
    out = tmp_path_factory.mktemp("synth")
    generate(residents=20_000, seed=11, out=out, start_date=START, days=3)
    return out, pl.read_csv(out / "register_20210129.csv", infer_schema=False)


def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path: Path) -> None:
    for name, seed in [("a", 5), ("b", 5), ("c", 6)]:
        generate(residents=3_000, seed=seed, out=tmp_path / name, start_date=START, days=2, defects=0.01)
    assert _digests(tmp_path / "a") == _digests(tmp_path / "b")
    assert _digests(tmp_path / "a") != _digests(tmp_path / "c")


def test_header_and_row_count(population: tuple[Path, pl.DataFrame]) -> None:
    out, register = population
    assert (out / "register_20210129.csv").read_text(encoding="utf-8").splitlines()[0] == ",".join(REGISTER_HEADER)
    assert register.height == 20_000


def test_matricules_valid_unique_and_encode_birth_date(population: tuple[Path, pl.DataFrame]) -> None:
    _, register = population
    for m in register["matricule"].to_list():
        assert len(m) == 13 and m.isdigit()
        assert luhn.is_valid(m[:11] + m[11]) and verhoeff.is_valid(m[:11] + m[12]), m
    assert register["matricule"].n_unique() == register.height
    assert (register["matricule"].str.slice(0, 8) == register["birth_date"].str.replace_all("-", "")).all()


def test_addresses_are_real(population: tuple[Path, pl.DataFrame]) -> None:
    _, register = population
    assert set(register["postcode"]) <= reference.postcode_set()
    pairs = {("L-" + p, c) for p, c in reference.postcodes().drop_nulls().select("postcode", "commune_2021").rows()}
    assert set(register.select("postcode", "commune").rows()) <= pairs
    assert set(register["commune"]) == reference.commune_set()  # all 102 at 20,000
    capital = (register["commune"] == "Luxembourg").mean()
    assert 0.17 <= capital <= 0.23  # type: ignore[operator]
    cantons = register.join(reference.communes(), on="commune").group_by("canton").len()
    assert cantons.height == 12


def test_age_pyramid_and_nationalities(population: tuple[Path, pl.DataFrame]) -> None:
    _, register = population
    ages = (pl.lit(START) - register["birth_date"].str.to_date()).dt.total_days() / 365.25
    age = register.select(ages.alias("age"))["age"]
    assert 0.13 <= (age >= 65).mean() <= 0.17  # type: ignore[operator]
    assert 0.14 <= (age < 15).mean() <= 0.18  # type: ignore[operator]
    assert age.min() >= 0 and age.max() < 106  # type: ignore[operator]
    foreign = (register["nationality"] != "LU").mean()
    assert 0.42 <= foreign <= 0.52  # type: ignore[operator]
    assert set(register["language"].drop_nulls()) == {"fr", "de", "en", "pt"}
    assert 0 < register["language"].null_count() < register.height * 0.01
    assert set(register["status"]) == {"resident", "deceased", "emigrated"}


def test_names_carry_the_accents(population: tuple[Path, pl.DataFrame]) -> None:
    _, register = population
    text = "".join(register["family_name"].to_list() + register["given_name"].to_list())
    for letter in "łőșøñçãüßé":
        assert letter in text, letter


def test_households_share_addresses(population: tuple[Path, pl.DataFrame]) -> None:
    _, register = population
    sizes = register.group_by("street", "house_number", "postcode").agg(pl.len().alias("n"))
    in_shared = register.join(sizes, on=["street", "house_number", "postcode"], nulls_equal=True)
    assert (in_shared["n"] >= 2).mean() > 0.5  # type: ignore[operator]


def test_priority_lists_name_residents(population: tuple[Path, pl.DataFrame]) -> None:
    out, register = population
    residents = set(register.filter(pl.col("status") == "resident")["matricule"])
    sizes = {}
    for name in ["carehomes", "healthworkers", "vulnerable", "conditions"]:
        frame = pl.read_csv(out / f"priority_{name}_20210129.csv", infer_schema=False)
        assert set(frame["matricule"]) <= residents, name
        sizes[name] = frame.height
    carehomes = pl.read_csv(out / "priority_carehomes_20210129.csv", infer_schema=False)
    assert set(carehomes["role"]) == {"resident", "staff"}
    # ≈ 38,000 care-home and health staff and residents nationally, scaled to 20,000
    staff = sizes["carehomes"] + sizes["healthworkers"]
    assert 0.6 * 38_000 * 20_000 / 634_730 <= staff <= 1.4 * 38_000 * 20_000 / 634_730
    levels = pl.read_csv(out / "priority_vulnerable_20210129.csv", infer_schema=False)["level"]
    assert set(levels) == {"high", "significant", "moderate"}


def test_days_change_a_little(population: tuple[Path, pl.DataFrame]) -> None:
    out, day1 = population
    day3 = pl.read_csv(out / "register_20210131.csv", infer_schema=False)
    assert set(day1["matricule"]) <= set(day3["matricule"])  # matricules are stable; newcomers are added
    assert abs(day3.height - day1.height) < day1.height * 0.01
    moved = day1.join(day3, on="matricule").filter(pl.col("street") != pl.col("street_right"))
    assert 0 < moved.height < day1.height * 0.01
    assert (day3["matricule"].n_unique()) == day3.height


# An independent check of the eight rules (not the validator's code), for the defect truth.
def _broken_rules(row: dict[str, str | None], day: date, counts: dict[str, int]) -> set[str]:
    broken = set()
    m = row["matricule"] or ""
    if not (len(m) == 13 and m.isdigit() and luhn.is_valid(m[:11] + m[11]) and verhoeff.is_valid(m[:11] + m[12])):
        broken.add("matricule_check_digit")
    elif counts[m] > 1:
        broken.add("duplicate_matricule")
    required = [
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
    ]
    if any(not row[c] for c in required):
        broken.add("missing_required")
    if row["birth_date"]:
        try:
            born = date.fromisoformat(row["birth_date"])
            if len(row["birth_date"]) != 10:
                raise ValueError
            if born > day:
                broken.add("birth_date_future")
        except ValueError:
            broken.add("birth_date_unparseable")
    if row["postcode"] and row["postcode"] not in reference.postcode_set():
        broken.add("unknown_postcode")
    if row["commune"] and row["commune"] not in reference.commune_set():
        broken.add("unknown_commune")
    for c in ("family_name", "given_name"):
        if row[c] and any(ord(ch) < 32 or ord(ch) == 127 for ch in row[c]):
            broken.add("control_character")
    return broken


def test_defects_break_exactly_the_rule_the_truth_names(tmp_path: Path) -> None:
    result = generate(residents=5_000, seed=2, out=tmp_path, start_date=START, days=1, defects=0.02)
    register = pl.read_csv(tmp_path / "register_20210129.csv", infer_schema=False)
    truth = pl.read_csv(tmp_path / "_truth" / "defects_20210129.csv")
    assert set(truth["rule"]) == {
        "matricule_check_digit",
        "duplicate_matricule",
        "birth_date_unparseable",
        "birth_date_future",
        "unknown_postcode",
        "unknown_commune",
        "missing_required",
        "control_character",
    }
    assert result.defect_rows == truth.height
    expected = {line: rule for line, rule in truth.select("line", "rule").rows()}
    assert len(expected) == truth.height  # one rule per damaged line
    counts: dict[str, int] = {}
    for m in register["matricule"].to_list():
        counts[m] = counts.get(m, 0) + 1
    for line, row in enumerate(register.iter_rows(named=True), start=2):
        broken = _broken_rules(row, START, counts)
        assert broken == ({expected[line]} if line in expected else set()), (line, broken)


def test_no_defects_no_truth(tmp_path: Path) -> None:
    result = generate(residents=500, seed=2, out=tmp_path, start_date=START)
    assert result.truth_files == [] and not (tmp_path / "_truth").exists()
    assert [p.name for p in result.files] == [
        "register_20210129.csv",
        "priority_carehomes_20210129.csv",
        "priority_healthworkers_20210129.csv",
        "priority_vulnerable_20210129.csv",
        "priority_conditions_20210129.csv",
    ]


def test_bad_arguments(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="at least 1"):
        generate(residents=0, seed=1, out=tmp_path)
