"""Synthetic landing files: what a real register extract, the priority-group lists and the residents' contact
preferences would hold.

``generate`` writes, for each day, a full register snapshot (one row per person ever registered:
residents, the deceased and the emigrated), the four priority-group lists and the day's contact-preference
declarations (``convoc_dev.synth.contacts``), as CSV (UTF-8, comma,
``\\n``, header first, dates YYYY-MM-DD, empty field = missing). With a defect rate, each day's register
carries damaged rows (some of them malformed lines or invalid UTF-8: ``convoc_dev.synth.defects``) and
``_truth/defects_YYYYMMDD.csv`` names them (file, line, column, rule); benign variants the ingest must
normalise are named in ``_truth/variants_YYYYMMDD.csv`` (file, line, column, variant, canonical); the damaged
contact preferences in ``_truth/contact_preferences_defects_YYYYMMDD.csv``.
Same arguments, same bytes: every draw comes from ``numpy.random.default_rng(seed)``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import polars as pl

from convoc.sources.specs import CONTACT_PREFERENCES, REGISTER
from convoc_dev.synth import changes, contacts, population, priority
from convoc_dev.synth.defects import damage

__all__ = ["GenerateResult", "generate"]


@dataclass(frozen=True)
class GenerateResult:
    """What ``generate`` wrote.

    ``files``: every landing file, day by day (register, the four lists, contact preferences); ``truth_files``:
    one defect
    truth per day when damaging; ``residents``: rows of the first register snapshot; ``defect_rows``:
    damaged rows over all days (a duplicate pair counts as two); ``variant_files``: one benign-variant
    truth per day when damaging; ``contact_truth_files``: the damaged contact preferences of each day, when
    damaging.
    """

    files: list[Path]
    truth_files: list[Path]
    residents: int
    defect_rows: int
    variant_files: list[Path] = field(default_factory=list)
    contact_truth_files: list[Path] = field(default_factory=list)


def _register_text(people: pl.DataFrame) -> pl.DataFrame:
    """The register file's columns, as text, in file order."""
    return people.select(
        pl.col(c).dt.strftime("%Y-%m-%d") if c == "birth_date" else pl.col(c) for c in REGISTER.columns
    )


def _write(frame: pl.DataFrame, path: Path) -> Path:
    frame.write_csv(path, line_terminator="\n", null_value="")
    return path


def generate(
    residents: int,
    seed: int,
    out: Path,
    start_date: date = date(2021, 1, 29),
    days: int = 1,
    defects: float = 0.0,
) -> GenerateResult:
    """Write ``days`` daily snapshots, starting with ``residents`` people on ``start_date``, to ``out``.

    ``defects`` is the share of each day's register rows to damage (0 ≤ rate < 0.5); 0 writes no truth.
    """
    if residents < 1 or days < 1:
        raise ValueError(f"residents and days must be at least 1, not {residents} and {days}")
    if not 0 <= defects < 0.5:
        raise ValueError(f"the defect rate must lie in [0, 0.5), not {defects}")
    # Separate streams, so the population and its days do not depend on the defect rate, and the contact
    # preferences (the last two) change nothing else.
    build_rng, change_rng, defect_rng, contact_rng, contact_defect_rng = np.random.default_rng(seed).spawn(5)
    book = population.AddressBook.draw(build_rng)
    people, homes = population.build(build_rng, residents, start_date, book)
    memberships = priority.draw(build_rng, people, homes, start_date)
    listed = priority.member_pids(memberships)

    out.mkdir(parents=True, exist_ok=True)
    files: list[Path] = []
    truth_files: list[Path] = []
    variant_files: list[Path] = []
    contact_truth_files: list[Path] = []
    first_rows = people.height
    defect_rows = 0
    declarants = pl.DataFrame()
    for k in range(days):
        day = start_date + timedelta(days=k)
        if k:
            people = changes.next_day(change_rng, people, book, day)
        register = _register_text(people)
        name = REGISTER.file_name(day)
        declared = (
            contacts.first_day(contact_rng, people, day)
            if k == 0
            else contacts.later_day(contact_rng, people, declarants, day)
        )
        declarants = contacts.latest(declarants, declared) if k else declared
        if defects > 0:
            # people on a list or declaring that day keep their register row intact: the lists' and the
            # preferences' rows are then rejected exactly where their own truth says
            kept = pl.concat([listed, declared["pid"]]).implode()
            eligible = (~people["pid"].is_in(kept)).to_numpy()
            damaged = damage(defect_rng, register, eligible, defects, day, name)
            (out / "_truth").mkdir(exist_ok=True)
            truth_files.append(_write(damaged.truth, out / "_truth" / f"defects_{day:%Y%m%d}.csv"))
            variant_files.append(_write(damaged.variants, out / "_truth" / f"variants_{day:%Y%m%d}.csv"))
            defect_rows += damaged.truth.height
            (out / name).write_bytes(damaged.csv())
            files.append(out / name)
        else:
            files.append(_write(register, out / name))
        for list_name, frame in priority.lists(memberships, people).items():
            files.append(_write(frame, out / f"{list_name}_{day:%Y%m%d}.csv"))
        if defects > 0:
            damaged_contacts = contacts.damage(contact_defect_rng, declared, defects, day)
            declared = damaged_contacts.frame
            contact_truth_files.append(
                _write(damaged_contacts.truth, out / "_truth" / f"contact_preferences_defects_{day:%Y%m%d}.csv")
            )
        files.append(_write(contacts.as_file(declared), out / CONTACT_PREFERENCES.file_name(day)))
    return GenerateResult(
        files=files,
        truth_files=truth_files,
        residents=first_rows,
        defect_rows=defect_rows,
        variant_files=variant_files,
        contact_truth_files=contact_truth_files,
    )
