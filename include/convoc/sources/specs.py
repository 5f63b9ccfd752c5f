"""The landing files convoc knows: name pattern, columns, and which columns are required or personal.

One ``SourceSpec`` per source; extraction, validation and loading are all driven by these.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True)
class SourceSpec:
    """A kind of landing file, ``<name>_YYYYMMDD.csv``, one per day.

    ``columns`` is the header a file must carry (extra columns are ignored and logged);
    ``required`` may not be empty; ``personal`` values are masked wherever they are reported.
    """

    name: str
    columns: tuple[str, ...]
    required: tuple[str, ...]
    personal: tuple[str, ...]
    # Allowed values per column (validated only where the value is present).
    value_sets: tuple[tuple[str, tuple[str, ...]], ...] = ()
    # Columns holding YYYY-MM-DD dates that may not lie after the snapshot day.
    past_dates: tuple[str, ...] = ()
    # Columns whose text may not contain control characters.
    text: tuple[str, ...] = ()
    # Columns holding "YYYY-MM-DD HH:MM" timestamps.
    timestamps: tuple[str, ...] = ()
    # A column whose values may occur once per file, and the rule that quarantines every repeat.
    unique: tuple[str, str] | None = None
    # Whether the file holds a whole population, so that its row count is compared to the last one.
    snapshot: bool = True
    # Whether a file with no data rows is normal (a day without bookings) rather than refused.
    may_be_empty: bool = False
    # The SQL file (under sql/intermediate) listing rows that name nothing known in the warehouse.
    reference_check: str | None = None

    @property
    def file_pattern(self) -> re.Pattern[str]:
        return re.compile(rf"^{re.escape(self.name)}_(\d{{8}})\.csv$", re.IGNORECASE)

    def file_name(self, day: date) -> str:
        return f"{self.name}_{day:%Y%m%d}.csv"

    @property
    def raw_table(self) -> str:
        return f"raw.{self.name}"

    @property
    def rejects_table(self) -> str:
        return f"quarantine.{self.name}_rejects"


REGISTER = SourceSpec(
    name="register",
    columns=(
        "matricule",
        "family_name",
        "given_name",
        "birth_date",
        "sex",
        "street",
        "house_number",
        "postcode",
        "locality",
        "commune",
        "nationality",
        "language",
        "status",
    ),
    required=(
        "matricule",
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
    ),
    personal=("matricule", "family_name", "given_name", "birth_date", "street", "house_number"),
    value_sets=(
        ("sex", ("F", "M", "X")),
        ("language", ("fr", "de", "en", "pt")),
        ("status", ("resident", "deceased", "emigrated")),
    ),
    past_dates=("birth_date",),
    text=("family_name", "given_name", "street", "locality"),
    unique=("matricule", "duplicate_matricule"),
)

PRIORITY_CAREHOMES = SourceSpec(
    name="priority_carehomes",
    columns=("matricule", "role", "facility", "commune"),
    required=("matricule", "role", "facility"),
    personal=("matricule",),
    value_sets=(("role", ("resident", "staff")),),
    text=("facility",),
    snapshot=False,
    reference_check="int_priority__unknown_residents.sql",
)

PRIORITY_HEALTHWORKERS = SourceSpec(
    name="priority_healthworkers",
    columns=("matricule", "profession", "sector"),
    required=("matricule", "profession"),
    personal=("matricule",),
    value_sets=(
        (
            "profession",
            ("doctor", "nurse", "carer", "pharmacist", "physiotherapist", "midwife", "dentist", "paramedic"),
        ),
        ("sector", ("hospital", "practice", "care_home", "pharmacy", "rescue")),
    ),
    snapshot=False,
    reference_check="int_priority__unknown_residents.sql",
)

PRIORITY_VULNERABLE = SourceSpec(
    name="priority_vulnerable",
    columns=("matricule", "level", "condition", "registered_on", "doctor_code"),
    required=("matricule", "level", "registered_on"),
    personal=("matricule", "condition", "doctor_code"),
    value_sets=(("level", ("high", "significant", "moderate")),),
    past_dates=("registered_on",),
    snapshot=False,
    reference_check="int_priority__unknown_residents.sql",
)

PRIORITY_CONDITIONS = SourceSpec(
    name="priority_conditions",
    columns=("matricule", "condition", "registered_on"),
    required=("matricule", "condition", "registered_on"),
    personal=("matricule", "condition"),
    value_sets=(("condition", ("pregnancy", "bmi_30_40", "diabetes", "hypertension")),),
    past_dates=("registered_on",),
    snapshot=False,
    reference_check="int_priority__unknown_residents.sql",
)

# Bookings made with invitation codes (from the booking system), one row per booking made or updated
# (e.g. the dose administered) on the day before the file's date.
BOOKINGS = SourceSpec(
    name="bookings",
    columns=("booking_code", "booked_at", "centre", "slot", "administered_at"),
    required=("booking_code", "booked_at", "centre", "slot"),
    personal=("booking_code",),
    timestamps=("booked_at", "slot", "administered_at"),
    unique=("booking_code", "duplicate_code"),
    snapshot=False,
    may_be_empty=True,
    reference_check="int_booking__unknown_codes.sql",
)

SOURCES: tuple[SourceSpec, ...] = (
    REGISTER,
    PRIORITY_CAREHOMES,
    PRIORITY_HEALTHWORKERS,
    PRIORITY_VULNERABLE,
    PRIORITY_CONDITIONS,
    BOOKINGS,
)


def source_named(name: str) -> SourceSpec:
    for spec in SOURCES:
        if spec.name == name:
            return spec
    raise KeyError(f"no source named {name!r}; known: {', '.join(s.name for s in SOURCES)}")
