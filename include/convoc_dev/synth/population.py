"""A synthetic population shaped like Luxembourg's on 1 January 2021: people, households, addresses.

Everything is drawn with numpy from one ``Generator`` and kept in a polars frame with one row per
person (``PEOPLE_SCHEMA``). Ages follow the 2021 pyramid; people live in households of realistic sizes
that share one address (children 20–45 years younger than their parents, couples of similar age,
families mostly sharing name and nationality); communes are drawn by their 2021 population; names
carry the accents of each nationality; matricules carry python-stdnum's Luhn and Verhoeff digits.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
import polars as pl

from convoc import reference
from convoc_dev.synth import pools

if TYPE_CHECKING:
    from numpy.random import Generator

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

NATIONAL_POPULATION = 634_730
DAYS_PER_YEAR = 365.2425
MAX_AGE = 105

# Age bands [from, to) and their share of residents (STATEC, 1 Jan 2021): 0–14 16 %, 15–64 69.3 %,
# 65–79 10.7 %, 80+ 4 % (so 65+ = 14.7 %).
AGE_BANDS = ((0, 15, 0.160), (15, 65, 0.693), (65, 80, 0.107), (80, MAX_AGE + 1, 0.040))

# Private households by size (share of households): 1 33 %, 2 28 %, 3 16 %, 4 15 %, 5+ 8 %.
HOUSEHOLD_SIZES = np.array([1, 2, 3, 4, 5, 6, 7], dtype=np.int64)
HOUSEHOLD_SHARES = np.array([0.33, 0.28, 0.16, 0.15, 0.055, 0.018, 0.007])

# Household kinds and the roles of their members.
SINGLE, COUPLE, FAMILY, LONE_PARENT, SHARED = 0, 1, 2, 3, 4
HEAD, PARTNER, CHILD, MEMBER = 0, 1, 2, 3

# Households per postcode get a new street every this many addresses (a postcode covers a street or a village).
ADDRESSES_PER_STREET = 40

PEOPLE_SCHEMA: dict[str, pl.DataType] = {
    "pid": pl.Int64(),
    "matricule": pl.String(),
    "family_name": pl.String(),
    "given_name": pl.String(),
    "birth_date": pl.Date(),
    "sex": pl.String(),
    "street": pl.String(),
    "house_number": pl.String(),
    "postcode": pl.String(),
    "locality": pl.String(),
    "commune": pl.String(),
    "nationality": pl.String(),
    "language": pl.String(),
    "status": pl.String(),
    "hh": pl.Int64(),
    "hn": pl.Int64(),
    "home": pl.Int64(),
}


def scaled(national: float, residents: int) -> int:
    """A national count scaled to a population of ``residents``."""
    return round(national * residents / NATIONAL_POPULATION)


def weighted_sample(rng: Generator, weights: FloatArray, k: int) -> IntArray:
    """``k`` distinct indices drawn with probability proportional to ``weights`` (Efraimidis–Spirakis)."""
    if k <= 0:
        return np.empty(0, dtype=np.int64)
    if k >= len(weights):
        return np.arange(len(weights), dtype=np.int64)
    with np.errstate(divide="ignore"):
        keys = np.log(rng.random(len(weights))) / np.maximum(weights, 1e-300)
    return np.sort(np.argsort(-keys, kind="stable")[:k]).astype(np.int64)


# --- ages and sex -------------------------------------------------------------------------------------


def age_weights() -> FloatArray:
    """Share of residents per single year of age 0..105, matching ``AGE_BANDS`` band by band."""
    age = np.arange(MAX_AGE + 1, dtype=np.float64)
    shape = np.ones_like(age)
    working = (age >= 15) & (age < 65)
    shape[working] = 0.85 + 0.35 * np.exp(-(((age[working] - 42) / 14) ** 2))
    retired = (age >= 65) & (age < 80)
    shape[retired] = 1.0 - 0.03 * (age[retired] - 65)
    over = age[age >= 80] - 80
    shape[age >= 80] = np.exp(-0.13 * over - 0.012 * over**2)
    weights = np.zeros_like(age)
    for low, high, share in AGE_BANDS:
        band = (age >= low) & (age < high)
        weights[band] = share * shape[band] / shape[band].sum()
    return weights


def draw_age_days(rng: Generator, n: int) -> IntArray:
    """Age in days on the snapshot day for ``n`` people, from the 2021 pyramid."""
    years = rng.choice(MAX_AGE + 1, size=n, p=age_weights())
    return np.floor((years + rng.random(n)) * DAYS_PER_YEAR).astype(np.int64)


def draw_female(rng: Generator, age: FloatArray) -> BoolArray:
    """Sex per person: about even, women the majority among the old."""
    p_female = 0.49 + 0.16 * np.clip((age - 60) / 35, 0, 1)
    return rng.random(len(age)) < p_female


# --- households ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Households:
    """Private households: ``hh``/``role`` per person, ``kind``/``head`` per household (head -1: none)."""

    hh: IntArray
    role: IntArray
    kind: IntArray
    head: IntArray


def _household_sizes(rng: Generator, n: int) -> IntArray:
    """Household sizes drawn until they hold exactly ``n`` people (the last one is cut to fit)."""
    parts: list[IntArray] = []
    total = 0
    while total < n:
        part = rng.choice(HOUSEHOLD_SIZES, size=n // 2 + 8, p=HOUSEHOLD_SHARES / HOUSEHOLD_SHARES.sum())
        parts.append(part)
        total += int(part.sum())
    sizes = np.concatenate(parts)
    cumulative = np.cumsum(sizes)
    count = int(np.searchsorted(cumulative, n)) + 1
    sizes = sizes[:count].copy()
    sizes[-1] -= int(cumulative[count - 1]) - n
    return sizes


def _child_slots(kind: IntArray, sizes: IntArray) -> IntArray:
    return np.where(kind == FAMILY, sizes - 2, np.where(kind == LONE_PARENT, sizes - 1, 0))


def _match_by_age(
    rng: Generator, target: FloatArray, want_female: BoolArray, pool: IntArray, age: FloatArray, female: BoolArray
) -> IntArray:
    """A distinct person of ``pool`` per slot, of the wanted sex and about the target age.

    The assignment is monotone in age (older target, older person), so crowded targets spread to both sides.
    """
    want_female = want_female.copy()
    for sex in (True, False):
        slots = np.flatnonzero(want_female == sex)
        excess = len(slots) - int(np.count_nonzero(female[pool] == sex))
        if excess > 0:  # too few of one sex in a tiny population: the other sex steps in
            want_female[rng.choice(slots, size=excess, replace=False)] = not sex
    chosen = np.empty(len(target), dtype=np.int64)
    for sex in (True, False):
        slots = np.flatnonzero(want_female == sex)
        if not len(slots):
            continue
        candidates = pool[female[pool] == sex]
        candidates = candidates[np.argsort(age[candidates], kind="stable")]
        order = slots[np.argsort(target[slots], kind="stable")]
        start = np.searchsorted(age[candidates], target[order]).astype(np.int64)
        step = np.arange(len(order), dtype=np.int64)
        # Where slots crowd, pushing them all older (or all younger) drifts far; take the middle of both.
        upward = np.maximum.accumulate(start - step) + step
        downward = np.minimum.accumulate((start - step)[::-1])[::-1] + step
        position = np.maximum((upward + downward) // 2, step)
        position = np.minimum(position, len(candidates) - len(order) + step)
        chosen[order] = candidates[position]
    return chosen


def build_households(rng: Generator, age: FloatArray, female: BoolArray) -> Households:
    """Group ``len(age)`` private residents into households of realistic size and composition.

    Minors (and enough young adults to fill the child places) become children, placed in sibling groups
    of similar age; each family gets a mother and usually a father 20–45 years older than every child;
    the other adults live alone, as couples of similar age, or as flat-shares.
    """
    n = len(age)
    sizes = _household_sizes(rng, n)
    n_households = len(sizes)
    u = rng.random(n_households)
    kind = np.full(n_households, SINGLE, dtype=np.int64)
    pairs = sizes == 2
    kind[pairs] = np.where(u[pairs] < 0.78, COUPLE, LONE_PARENT)
    large = sizes >= 3
    kind[large] = np.where(u[large] < 0.74, FAMILY, np.where(u[large] < 0.82, LONE_PARENT, SHARED))

    minors = np.flatnonzero(age < 18)
    deficit = len(minors) - int(_child_slots(kind, sizes).sum())
    if deficit > 0:  # a small population drew too few child places: turn adult places into child places
        gain = np.where(kind == SHARED, sizes - 2, np.where((kind == COUPLE) | (kind == FAMILY), 1, 0))
        order = rng.permutation(n_households)
        order = order[gain[order] > 0]
        take = order[: int(np.searchsorted(np.cumsum(gain[order]), deficit)) + 1]
        kind[take] = np.where(kind[take] == SHARED, FAMILY, LONE_PARENT)
    slots = _child_slots(kind, sizes)
    n_children = int(slots.sum())

    if n_children >= len(minors):
        adults = np.flatnonzero(age >= 18)
        # Young adults (under 35) still living with their parents, fewer with every year past 18.
        likely = np.exp(-(age[adults] - 18) / 4.5)
        if np.count_nonzero(age[adults] < 35) >= n_children - len(minors):
            likely[age[adults] >= 35] = 0.0
        extra = adults[weighted_sample(rng, likely, n_children - len(minors))]
        children = np.concatenate([minors, extra])
    else:
        children = np.sort(rng.choice(minors, size=n_children, replace=False))

    hh = np.full(n, -1, dtype=np.int64)
    role = np.full(n, MEMBER, dtype=np.int64)
    head = np.full(n_households, -1, dtype=np.int64)

    # Siblings: children sorted by a jittered age, cut into consecutive groups, one per family.
    families = rng.permutation(np.flatnonzero(slots > 0))
    siblings = children[np.argsort(age[children] + rng.normal(0, 2.0, len(children)), kind="stable")]
    hh[siblings] = np.repeat(families, slots[families])
    role[siblings] = CHILD
    starts = np.concatenate([[0], np.cumsum(slots[families])[:-1]]).astype(np.int64)
    youngest = np.minimum.reduceat(age[siblings], starts) if len(families) else np.empty(0)
    eldest = np.maximum.reduceat(age[siblings], starts) if len(families) else np.empty(0)

    # Parents: the mother 20–45 years older than each child, the father about her age.
    # A quarter-year inside the window, since the nearest free person of the target age may be a bit off.
    low = eldest + 20.25
    high = np.maximum(youngest + 44.75, low)
    mother_age = youngest + np.clip(rng.normal(31, 5, len(families)), low - youngest, high - youngest)
    father_age = np.clip(mother_age + rng.normal(2.0, 3.0, len(families)), low, high)
    couple_family = kind[families] == FAMILY
    lone_female = rng.random(len(families)) < 0.85
    slot_hh = np.concatenate([families, families[couple_family]])
    slot_target = np.concatenate([mother_age, father_age[couple_family]])
    slot_female = np.concatenate([couple_family | lone_female, np.zeros(int(couple_family.sum()), dtype=bool)])
    slot_role = np.concatenate(
        [np.where(couple_family, PARTNER, HEAD), np.full(int(couple_family.sum()), HEAD, dtype=np.int64)]
    )
    pool = np.flatnonzero(hh < 0)
    parents = _match_by_age(rng, slot_target, slot_female, pool, age, female)
    hh[parents] = slot_hh
    role[parents] = slot_role
    head[slot_hh[slot_role == HEAD]] = parents[slot_role == HEAD]

    # Couples without children: a woman and a man of similar age where the population allows.
    rest = np.flatnonzero(hh < 0)
    women = rng.permutation(rest[female[rest]])
    men = rng.permutation(rest[~female[rest]])
    couples = rng.permutation(np.flatnonzero(kind == COUPLE))
    paired = min(len(couples), len(women), len(men))
    her = women[:paired][np.argsort(age[women[:paired]] + rng.normal(0, 3.0, paired), kind="stable")]
    him = men[:paired][np.argsort(age[men[:paired]] + rng.normal(0, 3.0, paired), kind="stable")]
    hh[her], role[her] = couples[:paired], PARTNER
    hh[him], role[him] = couples[:paired], HEAD
    head[couples[:paired]] = him

    # Everyone else: people living alone, flat-shares, and couples a tiny population could not pair.
    others = rng.permutation(np.concatenate([women[paired:], men[paired:]]))
    singles = np.flatnonzero(kind == SINGLE)
    shared = np.flatnonzero(kind == SHARED)
    places = np.concatenate([singles, np.repeat(couples[paired:], 2), np.repeat(shared, sizes[shared])])
    hh[others] = places
    role[others[: len(singles)]] = HEAD
    head[singles] = others[: len(singles)]
    return Households(hh=hh, role=role, kind=kind, head=head)


# --- nationality, names, language ---------------------------------------------------------------------


def nationality_codes() -> tuple[str, ...]:
    return tuple(nat.code for nat in pools.NATIONALITIES)


def draw_nationality(rng: Generator, n: int, foreign_only: bool = False) -> IntArray:
    """Index into ``pools.NATIONALITIES`` per person, by the 2021 shares (optionally without LU)."""
    shares = np.array([nat.share for nat in pools.NATIONALITIES])
    if foreign_only:
        shares[0] = 0.0
    return rng.choice(len(shares), size=n, p=shares / shares.sum()).astype(np.int64)


def _pool_index(rng: Generator, nationality: IntArray, pools_per_nationality: list[tuple[str, ...]]) -> IntArray:
    """Index into the concatenation of the per-nationality pools: a uniform pick from one's own pool."""
    counts = np.array([len(p) for p in pools_per_nationality], dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)
    pick = np.floor(rng.random(len(nationality)) * counts[nationality]).astype(np.int64)
    return offsets[nationality] + pick


def family_names(rng: Generator, nationality: IntArray) -> pl.Series:
    """A family name per person from the pool of their nationality."""
    pool = [nat.family for nat in pools.NATIONALITIES]
    everything = pl.Series([name for names in pool for name in names], dtype=pl.String)
    return everything.gather(_pool_index(rng, nationality, pool))


def given_names(rng: Generator, nationality: IntArray, female: BoolArray) -> pl.Series:
    """A given name per person from the female or male pool of their nationality."""
    pool = [nat.female for nat in pools.NATIONALITIES] + [nat.male for nat in pools.NATIONALITIES]
    everything = pl.Series([name for names in pool for name in names], dtype=pl.String)
    which = nationality + np.where(female, 0, len(pools.NATIONALITIES))
    return everything.gather(_pool_index(rng, which, pool))


# Preferred letter language: (first language, its probability, second language) per nationality;
# nationalities not listed prefer English (60 %) or French.
LANGUAGES: dict[str, tuple[str, float, str]] = {
    "LU": ("de", 0.55, "fr"),
    "PT": ("pt", 0.85, "fr"),
    "FR": ("fr", 1.0, "fr"),
    "BE": ("fr", 1.0, "fr"),
    "DE": ("de", 1.0, "de"),
    "IT": ("fr", 0.70, "en"),
    "ES": ("fr", 0.70, "en"),
}
LANGUAGE_CODES = ("fr", "de", "en", "pt")
UNKNOWN_LANGUAGE_SHARE = 0.003


def draw_language(rng: Generator, nationality: IntArray) -> IntArray:
    """Index into ``LANGUAGE_CODES`` per person, or -1 (unknown: the letter is bilingual)."""
    codes = nationality_codes()
    first = np.full(len(codes), LANGUAGE_CODES.index("en"), dtype=np.int64)
    second = np.full(len(codes), LANGUAGE_CODES.index("fr"), dtype=np.int64)
    p_first = np.full(len(codes), 0.6)
    for code, (one, p, two) in LANGUAGES.items():
        k = codes.index(code)
        first[k], p_first[k], second[k] = LANGUAGE_CODES.index(one), p, LANGUAGE_CODES.index(two)
    u = rng.random(len(nationality))
    language = np.where(u < p_first[nationality], first[nationality], second[nationality])
    language[rng.random(len(nationality)) < UNKNOWN_LANGUAGE_SHARE] = -1
    return language.astype(np.int64)


def language_series(language: IntArray) -> pl.Series:
    values = pl.Series(LANGUAGE_CODES, dtype=pl.String).gather(np.maximum(language, 0))
    return pl.select(pl.when(pl.Series(language >= 0)).then(values).otherwise(None)).to_series()


# --- addresses ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AddressBook:
    """The 2021 communes and their postcodes, with the streets drawn for each postcode in this run.

    Postcodes whose commune is unknown in the reference are never used.
    """

    communes: tuple[str, ...]
    weight: FloatArray  # share of the 2021 population per commune
    postcode: tuple[str, ...]  # 'L-1234', grouped by commune
    locality: tuple[str, ...]
    first: IntArray  # per commune: index of its first postcode
    count: IntArray  # per commune: number of postcodes
    street_seed: IntArray  # per postcode
    long_seed: FloatArray  # per postcode

    @classmethod
    def draw(cls, rng: Generator) -> AddressBook:
        communes = reference.communes().sort("commune")
        names = tuple(communes["commune"].to_list())
        population = communes["population_2021"].to_numpy().astype(np.float64)
        codes = (
            reference.postcodes()
            .drop_nulls("commune_2021")
            .filter(pl.col("commune_2021").is_in(names))
            .sort("commune_2021", "postcode")
        )
        per_commune = codes.group_by("commune_2021").len()
        count_of = dict(per_commune.iter_rows())
        count = np.array([count_of.get(c, 0) for c in names], dtype=np.int64)
        if (count == 0).any():
            raise ValueError("every commune needs at least one postcode in the reference")
        first = np.concatenate([[0], np.cumsum(count)[:-1]]).astype(np.int64)
        return cls(
            communes=names,
            weight=population / population.sum(),
            postcode=tuple(("L-" + codes["postcode"]).to_list()),
            locality=tuple(codes["postal_locality"].to_list()),
            first=first,
            count=count,
            street_seed=rng.integers(0, len(pools.STREETS), codes.height).astype(np.int64),
            long_seed=rng.random(codes.height),
        )

    def allocate_communes(self, rng: Generator, n: int) -> IntArray:
        """Communes for ``n`` households in proportion to population (every commune once n allows)."""
        exact = n * self.weight
        count = np.floor(exact).astype(np.int64)
        remainder = n - int(count.sum())
        if remainder:
            fraction = exact - count
            count[rng.choice(len(count), size=remainder, replace=False, p=fraction / fraction.sum())] += 1
        return rng.permutation(np.repeat(np.arange(len(count), dtype=np.int64), count))

    def draw_communes(self, rng: Generator, n: int) -> IntArray:
        return rng.choice(len(self.weight), size=n, p=self.weight).astype(np.int64)

    def draw_postcodes(self, rng: Generator, commune: IntArray) -> IntArray:
        """A postcode of each household's commune, uniformly."""
        return self.first[commune] + np.floor(rng.random(len(commune)) * self.count[commune]).astype(np.int64)

    def street_index(self, postcode: IntArray, chunk: IntArray) -> IntArray:
        """Street per (postcode, chunk): distinct streets within one postcode; about 0.5 % very long ones."""
        regular = (self.street_seed[postcode] + 7 * chunk) % len(pools.STREETS)
        long_draw = np.modf(self.long_seed[postcode] + 0.6180339887 * chunk)[0]
        long = len(pools.STREETS) + (self.street_seed[postcode] + chunk) % len(pools.LONG_STREETS)
        return np.where(long_draw < 0.005, long, regular).astype(np.int64)

    def frame(self, postcode: IntArray, street: IntArray, number: IntArray, suffix: BoolArray) -> pl.DataFrame:
        """Address columns as written: street, house_number (empty when 0), postcode, locality, commune."""
        streets = pl.Series([*pools.STREETS, *pools.LONG_STREETS], dtype=pl.String)
        commune_of_postcode = np.repeat(np.arange(len(self.communes)), self.count)
        letters = np.where(suffix, np.where(number % 2 == 0, "A", "B"), "")
        return pl.DataFrame(
            {
                "street": streets.gather(street),
                "house_number": pl.Series(number, dtype=pl.Int64).cast(pl.String) + pl.Series(letters),
                "postcode": pl.Series(self.postcode, dtype=pl.String).gather(postcode),
                "locality": pl.Series(self.locality, dtype=pl.String).gather(postcode),
                "commune": pl.Series(self.communes, dtype=pl.String).gather(commune_of_postcode[postcode]),
                "hn": number,
            }
        ).with_columns(pl.when(pl.col("hn") > 0).then(pl.col("house_number")).otherwise(None).alias("house_number"))


def address_households(rng: Generator, book: AddressBook, commune: IntArray) -> pl.DataFrame:
    """One distinct address per household (index = household id) in the given communes.

    Within a postcode, households fill streets of up to ``ADDRESSES_PER_STREET`` house numbers, which
    rise in small random steps; about 1 % of addresses have no house number, 4 % a letter (12A).
    """
    n = len(commune)
    postcode = book.draw_postcodes(rng, commune)
    order = np.lexsort((rng.random(n), postcode))
    sorted_postcode = postcode[order]
    new_postcode = np.concatenate([[True], sorted_postcode[1:] != sorted_postcode[:-1]])
    group_start = np.flatnonzero(new_postcode)
    rank = np.arange(n) - group_start[np.cumsum(new_postcode) - 1]
    chunk = rank // ADDRESSES_PER_STREET
    new_street = new_postcode | (rank % ADDRESSES_PER_STREET == 0)
    street_start = np.flatnonzero(new_street)
    step = rng.geometric(0.6, n).astype(np.int64)
    total = np.cumsum(step)
    first_of = street_start[np.cumsum(new_street) - 1]
    number = total - total[first_of] + step[first_of]
    # No house number: only the first address of a street, so two such households never share one.
    p_none = min(1.0, 0.01 * n / max(1, len(street_start)))
    number[new_street & (rng.random(n) < p_none)] = 0
    suffix = (rng.random(n) < 0.04) & (number > 0)
    street = book.street_index(sorted_postcode, chunk)
    frame = book.frame(sorted_postcode, street, number, suffix)
    return frame.with_columns(pl.Series("hh", order, dtype=pl.Int64)).sort("hh")


def new_addresses(rng: Generator, book: AddressBook, commune: IntArray, people: pl.DataFrame) -> pl.DataFrame:
    """Addresses for households that arrive or move: the postcode's first street, past its last number."""
    n = len(commune)
    postcode = book.draw_postcodes(rng, commune)
    street = book.street_index(postcode, np.zeros(n, dtype=np.int64))
    streets = pl.Series([*pools.STREETS, *pools.LONG_STREETS], dtype=pl.String)
    wanted = pl.DataFrame(
        {
            "postcode": pl.Series(book.postcode, dtype=pl.String).gather(postcode),
            "street": streets.gather(street),
            "i": np.arange(n, dtype=np.int64),
        }
    )
    highest = people.group_by("postcode", "street").agg(pl.col("hn").max().alias("top"))
    numbered = (
        wanted.join(highest, on=["postcode", "street"], how="left")
        .with_columns(
            (pl.col("top").fill_null(0) + 1 + pl.int_range(pl.len()).over("postcode", "street", order_by="i")).alias(
                "hn"
            )
        )
        .sort("i")
    )
    number = numbered["hn"].to_numpy().astype(np.int64)
    return book.frame(postcode, street, number, np.zeros(n, dtype=bool))


# --- matricules ---------------------------------------------------------------------------------------


def with_check_digits(heads: list[str]) -> list[str]:
    """Append the Luhn and the Verhoeff check digit (python-stdnum, both over the 11-digit head)."""
    from stdnum import luhn, verhoeff

    return [h + luhn.calc_check_digit(h) + verhoeff.calc_check_digit(h) for h in heads]


def matricule_heads(birth_date: pl.Series, serial: pl.Series) -> list[str]:
    """Birth date YYYYMMDD plus the 3-digit serial: the 11 digits the check digits are computed over."""
    if len(serial) and int(serial.max()) > 999:  # type: ignore[arg-type]
        raise ValueError("more than 1,000 people born on one day: the matricule serial has 3 digits")
    return (birth_date.dt.strftime("%Y%m%d") + serial.cast(pl.String).str.zfill(3)).to_list()


def first_serials(rng: Generator, birth_date: pl.Series) -> pl.Series:
    """Serial per person: rank among the people born the same day, in random order."""
    frame = pl.DataFrame({"birth_date": birth_date, "key": rng.random(len(birth_date))})
    return frame.select(pl.int_range(pl.len()).over("birth_date", order_by="key").alias("serial"))["serial"]


# --- the first snapshot -------------------------------------------------------------------------------


@dataclass(frozen=True)
class CareHomes:
    """The care homes of the run: name and commune per home (people's ``home`` indexes these)."""

    name: tuple[str, ...]
    commune: tuple[str, ...]


def care_home_names(rng: Generator, n: int) -> tuple[str, ...]:
    combos = [f"{kind} {name}" for name in pools.CARE_HOME_NAMES for kind in pools.CARE_HOME_KINDS]
    picked = rng.permutation(len(combos))
    return tuple(
        combos[picked[i % len(combos)]] + (f" {i // len(combos) + 1}" if i >= len(combos) else "") for i in range(n)
    )


def _choose_status(rng: Generator, age: FloatArray, in_home: BoolArray) -> IntArray:
    """0 resident, 1 deceased (≈ 0.8 %, mostly old), 2 emigrated (≈ 0.7 %, working age)."""
    n = len(age)
    status = np.zeros(n, dtype=np.int64)
    dead = weighted_sample(rng, np.exp(0.1 * (age - 80)), round(0.008 * n))
    status[dead] = 1
    leaving = np.where((age >= 20) & (age <= 60), 1.0, np.where(age >= 18, 0.3, 0.0))
    leaving[(status == 1) | in_home] = 0.0
    gone = weighted_sample(rng, leaving, min(round(0.007 * n), int(np.count_nonzero(leaving))))
    status[gone] = 2
    return status


STATUSES = ("resident", "deceased", "emigrated")


def build(rng: Generator, residents: int, day: date, book: AddressBook) -> tuple[pl.DataFrame, CareHomes]:
    """The first register snapshot: ``residents`` people (``PEOPLE_SCHEMA``), sorted by matricule."""
    age_days = draw_age_days(rng, residents)
    age = age_days / DAYS_PER_YEAR
    female = draw_female(rng, age)

    # Care-home residents (≈ 6,000 nationally): the oldest are the likeliest.
    n_homes = max(1, scaled(50, residents))
    n_in_homes = min(max(1, scaled(6_000, residents)), residents - 1) if residents > 1 else 0
    very_old = np.where(age >= 75, np.exp((age - 75) / 6), 0.0)
    if np.count_nonzero(very_old) < n_in_homes:
        very_old = np.exp((age - 75) / 6)
    in_home = np.zeros(residents, dtype=bool)
    in_home[weighted_sample(rng, very_old, n_in_homes)] = True

    private = np.flatnonzero(~in_home)
    households = build_households(rng, age[private], female[private])
    n_private = len(households.kind)
    hh = np.empty(residents, dtype=np.int64)
    hh[private] = households.hh
    home = np.full(residents, -1, dtype=np.int64)
    residents_of_homes = np.flatnonzero(in_home)
    home[residents_of_homes] = rng.permutation(np.arange(len(residents_of_homes)) % n_homes)
    hh[residents_of_homes] = n_private + home[residents_of_homes]

    # Nationality and names: family members mostly take the head's nationality and family name.
    nationality = draw_nationality(rng, residents)
    older_locals = in_home & (rng.random(residents) < 0.4)
    nationality[older_locals] = 0
    role = np.full(residents, MEMBER, dtype=np.int64)
    role[private] = households.role
    kind = np.full(residents, SHARED, dtype=np.int64)
    kind[private] = households.kind[households.hh]
    head = np.full(residents, -1, dtype=np.int64)
    head_private = households.head[households.hh]
    head[private] = np.where(head_private >= 0, private[np.maximum(head_private, 0)], -1)
    has_head = (head >= 0) & (head != np.arange(residents))
    u = rng.random((3, residents))
    p_nationality = np.where(role == CHILD, 0.95, np.where(kind == FAMILY, 0.9, 0.7))
    same_nationality = has_head & (u[0] < p_nationality)
    nationality[same_nationality] = nationality[head[same_nationality]]
    family = family_names(rng, nationality)
    p_name = np.where(role == CHILD, 0.97, np.where(kind == FAMILY, 0.85, 0.45))
    same_name = same_nationality & (u[1] < p_name)
    family = family.scatter(np.flatnonzero(same_name), family.gather(head[same_name]))
    given = given_names(rng, nationality, female)
    language = draw_language(rng, nationality)
    same_language = same_nationality & (u[2] < 0.8)
    language[same_language] = language[head[same_language]]

    # Addresses: private households by commune population, care homes anywhere, weighted alike.
    commune = np.concatenate([book.allocate_communes(rng, n_private), book.draw_communes(rng, n_homes)])
    addresses = address_households(rng, book, commune)
    names = care_home_names(rng, n_homes)
    homes = CareHomes(name=names, commune=tuple(addresses["commune"].to_list()[n_private:]))

    status = _choose_status(rng, age, in_home)
    birth = pl.Series(np.datetime64(day, "D") - age_days.astype("timedelta64[D]")).cast(pl.Date)
    serial = first_serials(rng, birth)
    matricule = with_check_digits(matricule_heads(birth, serial))
    people = pl.DataFrame(
        {
            "pid": np.arange(residents, dtype=np.int64),
            "matricule": pl.Series(matricule, dtype=pl.String),
            "family_name": family,
            "given_name": given,
            "birth_date": birth,
            "sex": pl.Series(np.where(female, "F", "M"), dtype=pl.String),
            "nationality": pl.Series(nationality_codes(), dtype=pl.String).gather(nationality),
            "language": language_series(language),
            "status": pl.Series(STATUSES, dtype=pl.String).gather(status),
            "hh": hh,
            "home": home,
        }
    )
    people = people.join(addresses, on="hh", how="left")
    return people.select(PEOPLE_SCHEMA.keys()).sort("matricule"), homes
