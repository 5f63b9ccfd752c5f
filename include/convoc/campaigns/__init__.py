"""Campaigns and centres are configuration (YAML beside this file), validated when loaded.

A campaign says who is invited in which order (phases), how often (doses, re-invitations) and how many
letters a day's capacity allows (booking window, expected uptake); the centres say the capacity and
which commune books where. Every error names the file and the field.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from importlib.resources import files
from pathlib import Path
from typing import Any

from convoc.errors import ConvocError

PRIORITY_GROUPS = (
    "carehome_resident",
    "carehome_staff",
    "health_worker",
    "vulnerable_high",
    "vulnerable_significant",
    "vulnerable_moderate",
    "pregnancy",
    "bmi_30_40",
    "diabetes",
    "hypertension",
)
MAX_AGE = 130
NOT_CAMPAIGNS = ("centres.yaml", "print_shop.yaml")  # the other configuration files beside the campaigns


class CampaignError(ConvocError):
    """A campaign or centre file that cannot be used as it is."""


@dataclass(frozen=True)
class Phase:
    phase: str
    rank: int
    min_age: int | None = None
    max_age: int | None = None
    groups: tuple[str, ...] = ()


KINDS = ("priority", "booster", "sample", "mailing")
PER = ("resident", "household")
MAX_NAMES = 3
"""Name lines on a household letter: up to this many residents are named; a larger household gets the first
``MAX_NAMES - 1`` names and a line "and the other residents" (the address window holds six lines)."""


@dataclass(frozen=True)
class Campaign:
    """One campaign. ``kind``: ``priority`` (phases in order, doses apart), ``booster`` (once a required
    dose is old enough: ``requires`` and ``intervals``), ``sample`` (a stratified random sample a day,
    ``daily_invitations``, at most one member of a household a week), ``mailing`` (one letter to every
    resident in ``min_age``–``max_age`` and ``communes``, or one per household address: ``per``; no booking
    capacity, only the print shop's)."""

    campaign: str
    title: Mapping[str, str]
    active_from: date
    phases: tuple[Phase, ...]
    kind: str = "priority"
    requires: tuple[str, int] | None = None  # (campaign, dose) a booster follows
    intervals: tuple[tuple[date, int], ...] = ()  # (from, months since the required dose)
    daily_invitations: int = 0
    strata: tuple[str, ...] = ()
    age_bands: tuple[int, ...] = ()
    active_until: date | None = None
    doses: int = 1
    dose_interval_days: int = 28
    booking_window_days: int = 14
    validity_days: int = 14
    expected_uptake: float = 0.8
    capacity_share: float = 1.0
    reinvite_wait_days: int = 7
    max_attempts: int = 3
    code_suffix: str | None = None
    per: str = "resident"  # mailing: one letter per resident or per household address
    communes: tuple[str, ...] = ()  # mailing: only these communes (none: the whole country)
    source: str = field(default="", compare=False)

    def active_on(self, day: date) -> bool:
        return self.active_from <= day and (self.active_until is None or day <= self.active_until)

    def interval_months(self, day: date) -> int:
        """Months the required dose must be old on ``day`` (booster campaigns)."""
        current = [months for start, months in self.intervals if start <= day]
        if not current:
            raise CampaignError(
                f"{self.source}: no booster interval applies on {day} (first from {self.intervals[0][0]})"
            )
        return current[-1]


@dataclass(frozen=True)
class Centre:
    centre: str
    name: str
    address: tuple[str, ...]
    commune: str
    lines: int
    open_hour: float
    close_hour: float
    opens: date
    closes: date | None = None

    def open_on(self, day: date) -> bool:
        return self.opens <= day and (self.closes is None or day <= self.closes)


@dataclass(frozen=True)
class Centres:
    people_per_line_hour: int
    centres: tuple[Centre, ...]
    catchment: Mapping[str, tuple[str, ...]]  # commune → centres in order of preference

    def daily_capacity(self, day: date, scale: float = 1.0) -> dict[str, int]:
        """People each open centre can take on ``day`` (scaled, e.g. for a synthetic population)."""
        return {
            c.centre: int(c.lines * (c.close_hour - c.open_hour) * self.people_per_line_hour * scale)
            for c in self.centres
            if c.open_on(day)
        }

    def centre_for(self, commune: str, day: date) -> str | None:
        """The first centre of the commune's catchment that is open on ``day``."""
        open_ids = {c.centre for c in self.centres if c.open_on(day)}
        return next((c for c in self.catchment.get(commune, ()) if c in open_ids), None)


def _require(data: Mapping[str, Any], key: str, where: str) -> Any:
    if key not in data or data[key] is None:
        raise CampaignError(f"{where}: `{key}` is required")
    return data[key]


def _positive(data: Mapping[str, Any], key: str, where: str, default: float, *, integer: bool = True) -> Any:
    value = data.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0 or (integer and value != int(value)):
        kind = "a whole number" if integer else "a number"
        raise CampaignError(f"{where}: `{key}` must be {kind} greater than 0, not {value!r}")
    return int(value) if integer else float(value)


def _date(value: Any, where: str, key: str) -> date:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise CampaignError(f"{where}: `{key}` must be a date YYYY-MM-DD, not {value!r}") from None


def _phases(raw: Any, where: str) -> tuple[Phase, ...]:
    if not isinstance(raw, list) or not raw:
        raise CampaignError(f"{where}: `phases` must list at least one phase")
    phases = []
    seen_groups: dict[str, str] = {}
    for rank, item in enumerate(raw, start=1):
        name = str(_require(item, "phase", f"{where}: phase #{rank}"))
        here = f"{where}: phase {name}"
        unknown = [g for g in item.get("groups") or [] if g not in PRIORITY_GROUPS]
        if unknown:
            raise CampaignError(
                f"{here}: unknown priority group(s) {', '.join(map(str, unknown))}; known: {', '.join(PRIORITY_GROUPS)}"
            )
        groups = tuple(item.get("groups") or ())
        min_age, max_age = item.get("min_age"), item.get("max_age")
        if min_age is None and max_age is None and not groups:
            raise CampaignError(f"{here}: empty phase (no age range and no priority group)")
        if min_age is not None and max_age is not None and min_age > max_age:
            raise CampaignError(f"{here}: empty age range {min_age}–{max_age}")
        for g in groups:
            if g in seen_groups:
                raise CampaignError(f"{here}: priority group {g} is already in phase {seen_groups[g]} (phases overlap)")
            seen_groups[g] = name
        phases.append(Phase(name, rank, min_age, max_age, groups))
    ranged = sorted(
        (p for p in phases if p.min_age is not None or p.max_age is not None),
        key=lambda p: p.min_age if p.min_age is not None else 0,
    )
    for a, b in itertools.pairwise(ranged):
        a_max = a.max_age if a.max_age is not None else MAX_AGE
        if (b.min_age or 0) <= a_max:
            raise CampaignError(f"{where}: the age ranges of phases {a.phase} and {b.phase} overlap")
    return tuple(phases)


def parse_campaign(data: Mapping[str, Any], where: str) -> Campaign:
    """A campaign from its YAML mapping; ``where`` names the file in errors."""
    import yaml  # noqa: F401  (keeps the dependency visible next to its use)

    name = str(_require(data, "campaign", where))
    reinvite = data.get("reinvite") or {}
    uptake = _positive(data, "expected_uptake", where, 0.8, integer=False)
    share = _positive(data, "capacity_share", where, 1.0, integer=False)
    if uptake > 1 or share > 1:
        raise CampaignError(f"{where}: `expected_uptake` and `capacity_share` lie in (0, 1]")
    until = data.get("active_until")
    suffix = data.get("code_suffix")
    kind = str(data.get("kind", "priority"))
    if kind not in KINDS:
        raise CampaignError(f"{where}: `kind` must be one of {', '.join(KINDS)}, not {kind!r}")
    requires: tuple[str, int] | None = None
    intervals: tuple[tuple[date, int], ...] = ()
    if kind == "booster":
        req = _require(data, "requires", where)
        requires = (
            str(_require(req, "campaign", f"{where}: requires")),
            _positive(req, "dose", f"{where}: requires", 1),
        )
        raw_intervals = _require(data, "intervals", where)
        intervals = tuple(
            sorted(
                (_date(_require(i, "from", f"{where}: intervals"), where, "intervals.from"),
                 _positive(i, "months", f"{where}: intervals", 1))
                for i in raw_intervals
            )
        )  # fmt: skip
    daily = 0
    strata: tuple[str, ...] = ()
    bands: tuple[int, ...] = ()
    per = "resident"
    communes: tuple[str, ...] = ()
    if kind == "mailing":
        if data.get("phases"):
            raise CampaignError(f"{where}: a mailing has no phases: `min_age`, `max_age` and `communes` choose who")
        per = str(data.get("per", "resident"))
        if per not in PER:
            raise CampaignError(f"{where}: `per` must be one of {', '.join(PER)}, not {per!r}")
        communes = tuple(str(c) for c in data.get("communes") or ())
        min_age, max_age = data.get("min_age"), data.get("max_age")
        for key, value in (("min_age", min_age), ("max_age", max_age)):
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
                raise CampaignError(f"{where}: `{key}` must be a whole number of years, not {value!r}")
        if min_age is not None and max_age is not None and min_age > max_age:
            raise CampaignError(f"{where}: empty age range {min_age}–{max_age}")
        # one phase, for what reads phases (the eligible population's youngest age in the marts)
        data = {**data, "phases": [{"phase": per, "min_age": min_age or 0, "max_age": max_age}]}
        for key in ("doses", "expected_uptake", "capacity_share", "booking_window_days", "reinvite"):
            if key in data:
                raise CampaignError(f"{where}: `{key}` does not apply to a mailing (one letter, no booking capacity)")
    if kind == "sample":
        daily = _positive(data, "daily_invitations", where, 0)
        strata = tuple(str(x) for x in data.get("strata") or ())
        unknown = [x for x in strata if x not in ("canton", "age_band", "sex")]
        if unknown:
            raise CampaignError(f"{where}: unknown stratum {', '.join(unknown)}; known: canton, age_band, sex")
        bands = tuple(int(b) for b in data.get("age_bands") or (0,))
        if list(bands) != sorted(set(bands)):
            raise CampaignError(f"{where}: `age_bands` must be increasing lower bounds, not {list(bands)}")
    return Campaign(
        kind=kind,
        requires=requires,
        intervals=intervals,
        daily_invitations=daily,
        strata=strata,
        age_bands=bands,
        campaign=name,
        title=dict(_require(data, "title", where)),
        active_from=_date(_require(data, "active_from", where), where, "active_from"),
        active_until=_date(until, where, "active_until") if until else None,
        phases=_phases(data.get("phases"), where),
        doses=_positive(data, "doses", where, 1),
        dose_interval_days=_positive(data, "dose_interval_days", where, 28),
        booking_window_days=_positive(data, "booking_window_days", where, 14),
        validity_days=_positive(data, "validity_days", where, 14),
        expected_uptake=uptake,
        capacity_share=share,
        reinvite_wait_days=_positive(reinvite, "wait_days", f"{where}: reinvite", 7),
        max_attempts=_positive(reinvite, "max_attempts", f"{where}: reinvite", 3),
        code_suffix=str(suffix) if suffix else None,
        per=per,
        communes=communes,
        source=where,
    )


def _read_yaml(path: Path | Any) -> Any:
    import yaml

    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise CampaignError(f"{path.name}: not valid YAML: {exc}") from None


def _config_dir() -> Any:
    return files(__package__)


def load_campaigns(folder: Path | None = None) -> list[Campaign]:
    """Every campaign file (``*.yaml`` except centres.yaml and print_shop.yaml) in ``folder`` (default: the
    shipped ones)."""
    root = folder or _config_dir()
    paths = sorted((p for p in root.iterdir() if p.name.endswith(".yaml") and p.name not in NOT_CAMPAIGNS),
                   key=lambda p: p.name)  # fmt: skip
    campaigns = [parse_campaign(_read_yaml(p) or {}, p.name) for p in paths]
    names = [c.campaign for c in campaigns]
    if len(set(names)) != len(names):
        raise CampaignError(f"campaign names must be unique: {', '.join(names)}")
    if any(c.communes for c in campaigns):
        from convoc import reference

        known = set(reference.communes().get_column("commune").to_list())
        for c in campaigns:
            unknown = sorted(set(c.communes) - known)
            if unknown:
                raise CampaignError(f"{c.source}: `communes` names unknown commune(s) {', '.join(unknown)}")
    for c in campaigns:
        if c.requires and c.requires[0] not in names:
            raise CampaignError(f"{c.source}: requires the campaign {c.requires[0]!r}, which no file defines")
    return campaigns


def _hours(text: Any, where: str) -> tuple[float, float]:
    try:
        start, end = (int(t.split(":")[0]) + int(t.split(":")[1]) / 60 for t in str(text).split("-"))
    except (ValueError, IndexError):
        raise CampaignError(f"{where}: `hours` must read like 08:00-20:00, not {text!r}") from None
    if end <= start:
        raise CampaignError(f"{where}: capacity 0: opening hours {text} are empty")
    return start, end


def parse_centres(data: Mapping[str, Any], where: str, communes: Mapping[str, str]) -> Centres:
    """Centres and catchment; ``communes`` maps every commune to its canton (reference data)."""
    per_hour = _positive(data, "people_per_line_hour", where, 12)
    centres = []
    for item in _require(data, "centres", where):
        cid = str(_require(item, "centre", f"{where}: centre"))
        here = f"{where}: centre {cid}"
        if item.get("lines") == 0:
            raise CampaignError(f"{here}: capacity 0 (`lines` is 0)")
        commune = str(_require(item, "commune", here))
        if commune not in communes:
            raise CampaignError(f"{here}: unknown commune {commune!r}")
        open_hour, close_hour = _hours(_require(item, "hours", here), here)
        closes = item.get("closes")
        centres.append(
            Centre(
                centre=cid,
                name=str(_require(item, "name", here)),
                address=tuple(str(a) for a in _require(item, "address", here)),
                commune=commune,
                lines=_positive(item, "lines", here, 0),
                open_hour=open_hour,
                close_hour=close_hour,
                opens=_date(_require(item, "opens", here), here, "opens"),
                closes=_date(closes, here, "closes") if closes else None,
            )
        )
    ids = {c.centre for c in centres}
    if len(ids) != len(centres):
        raise CampaignError(f"{where}: centre ids must be unique")
    raw = _require(data, "catchment", where)

    def preference(value: Any, here: str) -> tuple[str, ...]:
        chosen = tuple(value) if isinstance(value, list) else (value,)
        unknown = [c for c in chosen if c not in ids]
        if unknown or not chosen:
            raise CampaignError(f"{where}: catchment {here}: unknown centre {', '.join(map(str, unknown))}; "
                                f"known: {', '.join(sorted(ids))}")  # fmt: skip
        return tuple(str(c) for c in chosen)

    by_canton = {str(k): preference(v, f"canton {k}") for k, v in (raw.get("cantons") or {}).items()}
    by_commune = {str(k): preference(v, f"commune {k}") for k, v in (raw.get("communes") or {}).items()}
    unknown_communes = sorted(set(by_commune) - set(communes))
    if unknown_communes:
        raise CampaignError(f"{where}: catchment names unknown commune(s) {', '.join(unknown_communes)}")
    catchment = {}
    homeless = []
    for commune, canton in communes.items():
        if commune in by_commune:
            catchment[commune] = by_commune[commune]
        elif canton in by_canton:
            catchment[commune] = by_canton[canton]
        else:
            homeless.append(f"{commune} ({canton})")
    if homeless:
        raise CampaignError(f"{where}: catchment: {len(homeless)} commune(s) book at no centre: {', '.join(homeless)}")
    return Centres(per_hour, tuple(centres), catchment)


def load_centres(path: Path | None = None) -> Centres:
    from convoc import reference

    source = path or _config_dir().joinpath("centres.yaml")
    communes = dict(reference.communes().select("commune", "canton").iter_rows())
    return parse_centres(_read_yaml(source) or {}, source.name, communes)
