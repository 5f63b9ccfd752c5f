"""A synthetic population shaped like Luxembourg's in 2021, as one polars frame (one row per person).

Ages follow the 2021 pyramid, residents live in households that share an address, communes are drawn by
their 2021 population, names carry the accents of each nationality. Priority-group draws are made once
per person, so the daily lists stay stable while the register changes.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import TYPE_CHECKING

import numpy as np
import polars as pl

from convoc import reference
from convoc.synth import pools

if TYPE_CHECKING:
    from numpy.random import Generator

# Five-year age bands and their share of residents (STATEC, 1 Jan 2021, rounded): 0–14 ≈ 16 %,
# 15–64 ≈ 69 %, 65+ ≈ 14.7 %, 80+ ≈ 4 %.
AGE_BAND_SHARES = [5.4, 5.5, 5.4, 5.5, 6.1, 7.2, 8.0, 8.0, 7.6, 7.5, 7.4, 6.8, 5.4, 4.4, 3.6, 2.6, 1.9, 1.3, 0.6,
                   0.2, 0.03]  # fmt: skip
NATIONAL_POPULATION = 634_730
OTHER_NATIONALITIES = ["UA", "RU", "TR", "MA", "RS", "ME", "BA", "IE", "FI", "SE", "AT", "CH"]


def _text(name: str, values: np.ndarray) -> pl.Series:
    """A string column from a numpy object array (None = missing)."""
    return pl.Series(name, values.tolist(), dtype=pl.String)


def _masked(mask: np.ndarray, values: np.ndarray) -> np.ndarray:
    """``values`` where ``mask`` holds, None elsewhere (an object array)."""
    out = np.full(len(mask), None, dtype=object)
    out[mask] = np.asarray(values, dtype=object)[mask]
    return out


def _choice(rng: Generator, items: list[str], idx_or_n: int | np.ndarray) -> np.ndarray:
    arr: np.ndarray = np.array(items, dtype=object)
    index = rng.integers(0, len(arr), idx_or_n) if isinstance(idx_or_n, int) else idx_or_n
    picked: np.ndarray = arr[index]
    return picked


def sample_ages(rng: Generator, n: int) -> np.ndarray:
    weights = np.array(AGE_BAND_SHARES) / sum(AGE_BAND_SHARES)
    band = rng.choice(len(weights), size=n, p=weights)
    return band * 5 + rng.integers(0, 5, n)


def _nationality_weights() -> tuple[list[str], np.ndarray]:
    codes = list(pools.NATIONALITIES)
    shares = [pools.NATIONALITIES[c][0] for c in codes]
    codes.append(pools.OTHER)
    shares.append(max(0.0, 1 - sum(shares)))
    return codes, np.array(shares) / sum(shares)


def names(rng: Generator, nationality: np.ndarray, sex: np.ndarray | None) -> np.ndarray:
    """A family name (sex None) or a given name per person, from the pool of their nationality."""
    out = np.empty(len(nationality), dtype=object)
    for code in np.unique(nationality):
        mask = nationality == code
        pool_code = code if code in pools.NATIONALITIES else ("GB" if rng.random() < 0.5 else "US")
        _, family, female, male = pools.NATIONALITIES[pool_code]
        if sex is None:
            out[mask] = _choice(rng, family, int(mask.sum()))
        else:
            f = mask & (sex == "F")
            out[f] = _choice(rng, female, int(f.sum()))
            m = mask & (sex != "F")
            out[m] = _choice(rng, male, int(m.sum()))
    return out


def random_addresses(rng: Generator, n: int) -> pl.DataFrame:
    """``n`` addresses: commune by 2021 population, a postcode of that commune, street and house number."""
    communes = reference.communes()
    weights = communes["population_2021"].to_numpy().astype(float)
    commune = communes["commune"].to_numpy()[rng.choice(len(weights), size=n, p=weights / weights.sum())]
    postcodes = reference.postcodes().drop_nulls("commune_2021").sort("postcode")
    by_commune = {c: g.sort("postcode") for (c,), g in postcodes.group_by("commune_2021", maintain_order=True)}
    postcode = np.empty(n, dtype=object)
    locality = np.empty(n, dtype=object)
    for c in np.unique(commune):
        mask = commune == c
        group = by_commune[c]
        pick = rng.integers(0, group.height, int(mask.sum()))
        postcode[mask] = ("L-" + group["postcode"]).to_numpy()[pick]
        locality[mask] = group["postal_locality"].to_numpy()[pick]
    street = _choice(rng, pools.STREETS, n)
    long_street = rng.random(n) < 0.005
    street[long_street] = _choice(rng, pools.LONG_STREETS, int(long_street.sum()))
    number = rng.integers(1, 181, n).astype(str).astype(object)
    lettered = rng.random(n) < 0.05
    number[lettered] = number[lettered] + _choice(rng, ["A", "B", "C"], int(lettered.sum()))
    number[rng.random(n) < 0.01] = None
    return pl.DataFrame(
        {"street": street, "house_number": number, "postcode": postcode, "locality": locality, "commune": commune},
        schema={c: pl.String for c in ("street", "house_number", "postcode", "locality", "commune")},
    )


def language_for(rng: Generator, nationality: np.ndarray) -> np.ndarray:
    """Preferred letter language by nationality; about 0.3 % unknown (the letter is then bilingual)."""
    u = rng.random(len(nationality))
    lang = np.where(u < 0.6, "en", "fr").astype(object)
    rules = {
        "LU": (0.55, "de", "fr"),
        "PT": (0.85, "pt", "fr"),
        "CV": (0.85, "pt", "fr"),
        "BR": (0.85, "pt", "fr"),
        "FR": (1.0, "fr", "fr"),
        "BE": (1.0, "fr", "fr"),
        "DE": (1.0, "de", "de"),
        "AT": (1.0, "de", "de"),
        "IT": (0.7, "fr", "en"),
        "ES": (0.7, "fr", "en"),
    }
    for code, (p, first, second) in rules.items():
        mask = nationality == code
        lang[mask] = np.where(u[mask] < p, first, second)
    lang[rng.random(len(nationality)) < 0.003] = None
    return lang


def build(n: int, rng: Generator, start: date) -> pl.DataFrame:
    """One row per person: identity, household address, status and fixed priority-group draws."""
    ages = sample_ages(rng, n)
    u = rng.random(n)
    carehome = (
        ((ages >= 85) & (u < 0.25))
        | ((ages >= 80) & (ages < 85) & (u < 0.08))
        | ((ages >= 75) & (ages < 80) & (u < 0.03))
    )
    kid = (ages < 18) | ((ages < 25) & (rng.random(n) < 0.6))
    kid &= ~carehome
    adults = np.flatnonzero(~kid & ~carehome)

    # Couples: adults 23+ paired with the next of similar age.
    coupled = adults[(ages[adults] >= 23) & (rng.random(len(adults)) < 0.6)]
    coupled = coupled[np.argsort(ages[coupled] + rng.normal(0, 2, len(coupled)), kind="stable")]
    if len(coupled) % 2:
        coupled = coupled[:-1]
    household = np.full(n, -1, dtype=np.int64)
    role = np.full(n, "single", dtype=object)
    pairs = coupled.reshape(-1, 2)
    older_first = np.where(ages[pairs[:, 0]] >= ages[pairs[:, 1]], 0, 1)
    heads = pairs[np.arange(len(pairs)), older_first]
    partners = pairs[np.arange(len(pairs)), 1 - older_first]
    singles = np.setdiff1d(adults, coupled)
    head_ids = np.concatenate([heads, singles])
    household[head_ids] = np.arange(len(head_ids))
    household[partners] = household[heads]
    role[heads] = "head"
    role[partners] = "partner"
    role[singles] = "head"

    # Children join a household whose head is 22–38 years older (nearest in a sorted list, jittered).
    kids = np.flatnonzero(kid)
    parents = head_ids[(ages[head_ids] >= 20) & (ages[head_ids] <= 65)]
    if len(parents):
        parents = parents[np.argsort(ages[parents], kind="stable")]
        target = ages[kids] + rng.uniform(22, 38, len(kids))
        pos = np.searchsorted(ages[parents], target) + rng.integers(-200, 201, len(kids))
        household[kids] = household[parents[np.clip(pos, 0, len(parents) - 1)]]
        role[kids] = "child"
    else:
        household[kids] = len(head_ids) + np.arange(len(kids))
        role[kids] = "head"
    n_households = int(household.max()) + 1

    # Care homes: about 50 nationally, scaled, each at one address.
    n_homes = max(1, round(50 * n / NATIONAL_POPULATION))
    home_names = np.array(
        [pools.CARE_HOMES[i % len(pools.CARE_HOMES)] + ("" if i < len(pools.CARE_HOMES) else f" {i // 12 + 1}")
         for i in range(n_homes)],
        dtype=object,
    )  # fmt: skip
    residents_of_homes = np.flatnonzero(carehome)
    home_of = rng.integers(0, n_homes, len(residents_of_homes))
    household[residents_of_homes] = n_households + home_of
    role[residents_of_homes] = "carehome"

    # Household attributes.
    total_units = n_households + n_homes
    codes, weights = _nationality_weights()
    hh_nat = np.array(codes, dtype=object)[rng.choice(len(codes), size=total_units, p=weights)]
    other = hh_nat == pools.OTHER
    hh_nat[other] = _choice(rng, OTHER_NATIONALITIES, int(other.sum()))
    hh_family = names(rng, hh_nat, None)
    hh_address = random_addresses(rng, total_units)

    nationality = hh_nat[household]
    mixed = (role == "partner") & (rng.random(n) < 0.2)
    nationality[mixed] = np.array(codes[:-1], dtype=object)[
        rng.choice(len(codes) - 1, size=int(mixed.sum()), p=weights[:-1] / weights[:-1].sum())
    ]
    nationality[role == "carehome"] = np.array(codes, dtype=object)[
        rng.choice(len(codes), size=int((role == "carehome").sum()), p=weights)
    ]
    nationality[nationality == pools.OTHER] = "UA"

    sex = np.where(rng.random(n) < np.where(ages >= 75, 0.62, 0.5), "F", "M").astype(object)
    head_sex = np.full(total_units, "M", dtype=object)
    head_sex[household[heads]] = sex[heads]
    opposite = np.where(head_sex[household[partners]] == "F", "M", "F")
    sex[partners] = np.where(rng.random(len(partners)) < 0.95, opposite, sex[partners])

    family = hh_family[household]
    own_name = (role == "partner") & (rng.random(n) < 0.5) | (role == "carehome")
    family[own_name] = names(rng, nationality[own_name], None)
    given = names(rng, nationality, sex)

    birth = np.array([start.toordinal()]) - (ages * 365.25 + rng.integers(0, 365, n)).astype(np.int64)
    status = np.full(n, "resident", dtype=object)
    p_dead = np.where(ages >= 80, 0.10, np.where(ages >= 65, 0.02, 0.003))
    status[rng.random(n) < p_dead] = "deceased"
    status[(status == "resident") & (ages >= 20) & (ages <= 60) & (rng.random(n) < 0.013)] = "emigrated"

    frame = pl.DataFrame(
        {
            "person": np.arange(n, dtype=np.int64),
            "household": household,
            "role": role.astype(str),
            "family_name": family.astype(str),
            "given_name": given.astype(str),
            "birth_ordinal": birth,
            "sex": sex.astype(str),
            "nationality": nationality.astype(str),
            "language": language_for(rng, nationality).tolist(),
            "status": status.astype(str),
        },
        schema_overrides={"language": pl.String},
    )
    addresses = hh_address.with_row_index("household").with_columns(pl.col("household").cast(pl.Int64))
    frame = frame.join(addresses, on="household", how="left", maintain_order="left")
    home_commune_of_person = hh_address["commune"].to_numpy()[household.clip(0, total_units - 1)]
    facility = np.full(n, None, dtype=object)
    facility[residents_of_homes] = home_names[home_of]
    frame = frame.with_columns(
        _text("facility", facility),
        _text("facility_commune", _masked(carehome, home_commune_of_person)),
        (pl.lit(start.toordinal()) - pl.col("birth_ordinal")).alias("_age_days"),
    )  # fmt: skip
    return _priority_draws(frame, rng, n_homes, home_names, hh_address["commune"].to_numpy()[n_households:])


def _priority_draws(
    frame: pl.DataFrame, rng: Generator, n_homes: int, home_names: np.ndarray, home_communes: np.ndarray
) -> pl.DataFrame:
    n = frame.height
    age = (frame["_age_days"].to_numpy() / 365.25).astype(int)
    female = frame["sex"].to_numpy() == "F"
    in_home = frame["role"].to_numpy() == "carehome"
    # ≈ 7,000 care-home staff and 25,000 health workers nationally (with ≈ 6,000 residents: ≈ 38,000).
    staff = (~in_home) & (age >= 20) & (age <= 64) & (rng.random(n) < 0.0184)
    health = (~in_home) & (~staff) & (age >= 22) & (age <= 66) & (rng.random(n) < 0.064)
    staff_home = rng.integers(0, n_homes, n)
    professions, prof_weights = pools.PROFESSIONS
    profession = np.array(professions, dtype=object)[rng.choice(len(professions), size=n, p=prof_weights)]
    sector = _choice(rng, pools.SECTORS, n)

    factor = np.clip(age / 50, 0.3, 2.5)
    u = rng.random(n)
    level = np.full(n, None, dtype=object)
    adult = age >= 18
    level[adult & (u < 0.015 * factor)] = "high"
    level[adult & (u >= 0.015 * factor) & (u < 0.045 * factor)] = "significant"
    level[adult & (u >= 0.045 * factor) & (u < 0.095 * factor)] = "moderate"
    condition = np.full(n, None, dtype=object)
    for lvl, codes in pools.VULNERABLE_CONDITIONS.items():
        mask = level == lvl
        condition[mask] = _choice(rng, codes, int(mask.sum()))
    registered_ago = rng.integers(1, 120, n)
    doctor = np.char.add("D", rng.integers(100000, 999999, n).astype(str)).astype(object)

    midlife = (age >= 40) & (age <= 64)
    return frame.with_columns(
        _text("staff_facility", _masked(staff, home_names[staff_home])),
        _text("staff_commune", _masked(staff, home_communes[staff_home])),
        _text("profession", _masked(health, profession)),
        _text("sector", _masked(health, sector)),
        _text("vulnerable_level", level),
        _text("vulnerable_condition", condition),
        _text("doctor_code", _masked(np.array([v is not None for v in level], dtype=bool), doctor)),
        pl.Series("registered_ago", registered_ago),
        pl.Series("pregnant", female & (age >= 18) & (age <= 45) & (rng.random(n) < 0.02)),
        pl.Series("bmi_30_40", midlife & (rng.random(n) < 0.04)),
        pl.Series("diabetes", midlife & (rng.random(n) < 0.03)),
        pl.Series("hypertension", midlife & (rng.random(n) < 0.05)),
    ).drop("_age_days")


def assign_matricules(frame: pl.DataFrame, rng: Generator, first_serial: int = 0) -> pl.DataFrame:
    """Matricule = birth date YYYYMMDD + serial (rank among that day's births, random order) + Luhn + Verhoeff.

    Check digits come from python-stdnum, over the first 11 digits.
    """
    from stdnum import luhn, verhoeff

    shuffled = frame.with_columns(pl.Series("_order", rng.permutation(frame.height)))
    serial = shuffled.select(
        (pl.col("_order").rank("ordinal").over("birth_ordinal") - 1 + first_serial).alias("serial")
    )["serial"]
    if serial.max() is not None and int(serial.max()) > 999:  # type: ignore[arg-type]
        raise ValueError("more than 1,000 residents born on one day: the matricule serial has 3 digits")
    epoch = date(1970, 1, 1).toordinal()
    heads = (
        (frame["birth_ordinal"] - epoch).cast(pl.Date).dt.strftime("%Y%m%d") + serial.cast(pl.String).str.zfill(3)
    ).to_list()
    matricules = [h + luhn.calc_check_digit(h) + verhoeff.calc_check_digit(h) for h in heads]
    return frame.with_columns(_text("matricule", np.asarray(matricules, dtype=object)))


def birth_date_text(frame: pl.DataFrame) -> pl.Series:
    epoch = date(1970, 1, 1).toordinal()
    return (frame["birth_ordinal"] - epoch).cast(pl.Date).dt.strftime("%Y-%m-%d")


def day_offset(start: date, k: int) -> date:
    return start + timedelta(days=k)
