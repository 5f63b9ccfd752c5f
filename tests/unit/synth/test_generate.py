"""convoc.synth.generate: deterministic files, valid where they should be, realistic, damaged exactly as told.

The defect checks use an independent checker (stdnum and the reference sets), not the generator's code.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from datetime import date, datetime
from pathlib import Path

import polars as pl
import pytest
from stdnum import luhn, verhoeff

from convoc import reference
from convoc.synth import generate

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
RULES = {
    "matricule_check_digit",
    "duplicate_matricule",
    "birth_date_unparseable",
    "birth_date_future",
    "unknown_postcode",
    "unknown_commune",
    "missing_required",
    "control_character",
}
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
    for name, columns in LIST_COLUMNS.items():
        assert (clean / f"{name}_20210129.csv").read_text(encoding="utf-8").split("\n", 1)[0] == columns


def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path: Path) -> None:
    for name, seed in [("a", 5), ("b", 5), ("c", 6)]:
        generate(residents=3_000, seed=seed, out=tmp_path / name, start_date=START, days=2, defects=0.01)
    a, b, c = (digests(tmp_path / name) for name in "abc")
    assert len(a) == 2 * 5 + 2  # two days of five files, two truth files
    assert a == b
    assert a.keys() == c.keys()
    assert all(a[k] != c[k] for k in a)


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


# An independent checker of the eight rules a defect may break.
def broken_rules(row: dict[str, str | None], day: date, seen: Counter[str]) -> set[str]:
    broken = set()
    m = row["matricule"] or ""
    if not (re.fullmatch(r"\d{13}", m) and luhn.is_valid(m[:12]) and verhoeff.is_valid(m[:11] + m[12])):
        broken.add("matricule_check_digit")
    elif seen[m] > 1:
        broken.add("duplicate_matricule")
    if any(not row[c] for c in REQUIRED):
        broken.add("missing_required")
    born = row["birth_date"]
    if born:
        try:
            if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", born):
                raise ValueError(born)
            if datetime.strptime(born, "%Y-%m-%d").date() > day:
                broken.add("birth_date_future")
        except ValueError:
            broken.add("birth_date_unparseable")
    if row["postcode"] and row["postcode"] not in reference.postcode_set():
        broken.add("unknown_postcode")
    if row["commune"] and row["commune"] not in reference.commune_set():
        broken.add("unknown_commune")
    if any(re.search(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", row[c] or "") for c in ("family_name", "given_name")):
        broken.add("control_character")
    # Damage elsewhere than the truth says would show here (sex is F or M in generated data).
    if (
        row["sex"] not in ("F", "M", None)
        or row["language"] not in ("fr", "de", "en", "pt", None)
        or row["status"] not in ("resident", "deceased", "emigrated", None)
        or not re.fullmatch(r"[A-Z]{2}", row["nationality"] or "LU")
        or not re.fullmatch(r"[1-9]\d*[A-Z]?", row["house_number"] or "1")
        or any(re.search(r"[\x00-\x1f\x7f]", row[c] or "") for c in ("street", "locality"))
    ):
        broken.add("invalid_value")
    return broken


def test_defects_break_exactly_the_rule_the_truth_names(tmp_path: Path) -> None:
    result = generate(residents=5_000, seed=2, out=tmp_path, start_date=START, days=2, defects=0.02)
    assert [p.name for p in result.truth_files] == ["defects_20210129.csv", "defects_20210130.csv"]
    total = 0
    for day, truth_path in zip([START, date(2021, 1, 30)], result.truth_files, strict=True):
        name = f"register_{day:%Y%m%d}.csv"
        register = read(tmp_path / name)
        truth = read(truth_path)
        assert truth.columns == ["file", "line", "column", "rule"]
        assert set(truth["file"]) == {name}
        assert truth["line"].cast(pl.Int64).is_sorted() and truth["line"].n_unique() == truth.height
        assert set(truth["rule"]) == RULES
        assert abs(truth.height - round(0.02 * register.height)) <= 1
        assert truth.filter(pl.col("rule") == "duplicate_matricule").height % 2 == 0
        expected = {int(line): (column, rule) for _, line, column, rule in truth.rows()}
        seen = Counter(register["matricule"].to_list())
        for line, row in enumerate(register.iter_rows(named=True), start=2):
            broken = broken_rules(row, day, seen)
            if line in expected:
                column, rule = expected[line]
                assert broken == {rule}, (line, broken, rule)
                if rule == "missing_required":
                    assert not row[column]
                elif rule == "control_character":
                    assert column in ("family_name", "given_name") and re.search(r"[\x00-\x1f\x7f]", row[column] or "")
            else:
                assert not broken, (line, broken)
        total += truth.height
        # Defects stay in the register: the lists name the same people as on a clean run.
        residents = set(register.filter(pl.col("status") == "resident")["matricule"])
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
        damaged = read(tmp_path / "damaged" / f"register_{day}.csv")
        truth = read(tmp_path / "damaged" / "_truth" / f"defects_{day}.csv")
        lines = set(truth["line"].cast(pl.Int64))
        keep = [i for i in range(clean.height) if i + 2 not in lines]
        assert clean[keep].equals(damaged[keep])


def test_small_files_still_get_every_defect_class(tmp_path: Path) -> None:
    result = generate(residents=150, seed=9, out=tmp_path, start_date=START, defects=0.001)
    truth = read(result.truth_files[0])
    assert set(truth["rule"]) == RULES
    assert result.defect_rows == truth.height == 9  # one per class, two for the duplicate pair


def test_no_defects_no_truth(tmp_path: Path) -> None:
    result = generate(residents=500, seed=2, out=tmp_path, start_date=START)
    assert result.truth_files == [] and not (tmp_path / "_truth").exists()
    assert result.residents == 500 and result.defect_rows == 0
    assert [p.name for p in result.files] == [
        "register_20210129.csv",
        "priority_carehomes_20210129.csv",
        "priority_healthworkers_20210129.csv",
        "priority_vulnerable_20210129.csv",
        "priority_conditions_20210129.csv",
    ]


@pytest.mark.parametrize("residents", [1, 7, 60])
def test_tiny_populations(tmp_path: Path, residents: int) -> None:
    result = generate(residents=residents, seed=1, out=tmp_path, start_date=START, days=2, defects=0.1)
    register = read(tmp_path / "register_20210129.csv")
    assert register.height == result.residents == residents
    assert register["matricule"].n_unique() == residents or result.defect_rows > 0


def test_bad_arguments(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="at least 1"):
        generate(residents=0, seed=1, out=tmp_path)
    with pytest.raises(ValueError, match="at least 1"):
        generate(residents=10, seed=1, out=tmp_path, days=0)
    with pytest.raises(ValueError, match="defect rate"):
        generate(residents=10, seed=1, out=tmp_path, defects=0.5)
