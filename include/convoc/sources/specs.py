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
    # Columns holding whole numbers (ids).
    integers: tuple[str, ...] = ()
    # The SQL file (under sql/intermediate) listing rows that name nothing known in the warehouse.
    reference_check: str | None = None
    # Where valid rows go: the staging table and the SQL file (under sql/staging) that selects them.
    staging: tuple[str, str] | None = None
    # The SQL script (under sql/core) that publishes the staged rows of one file ($file_name).
    core_load: str | None = None

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
    staging=("staging.priority_group", "stg_priority__carehomes.sql"),
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
    staging=("staging.priority_group", "stg_priority__healthworkers.sql"),
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
    staging=("staging.priority_group", "stg_priority__vulnerable.sql"),
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
    staging=("staging.priority_group", "stg_priority__conditions.sql"),
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
    staging=("staging.booking", "stg_bookings__bookings.sql"),
    core_load="fct_booking__load.sql",
)

# The print shop's confirmations: one row per piece of a job it handled, mailed or spoiled (spoiled
# pieces are reprinted), reported on the day before the file's date.
PRINT_CONFIRM = SourceSpec(
    name="print_confirm",
    columns=("job_id", "piece_id", "status", "event_date"),
    required=("job_id", "piece_id", "status", "event_date"),
    personal=(),
    value_sets=(("status", ("mailed", "spoiled")),),
    past_dates=("event_date",),
    integers=("piece_id",),
    snapshot=False,
    may_be_empty=True,
    reference_check="int_print_confirm__unknown_pieces.sql",
    staging=("staging.print_confirm", "stg_print_confirm__pieces.sql"),
    core_load="fct_print_event__load.sql",
)

# Returned mail, as the post office hands it back to the print shop: one row per returned piece.
RETURNS = SourceSpec(
    name="returns",
    columns=("job_id", "piece_id", "reason", "returned_on"),
    required=("job_id", "piece_id", "reason", "returned_on"),
    personal=(),
    value_sets=(("reason", ("unknown_address", "moved", "deceased")),),
    past_dates=("returned_on",),
    integers=("piece_id",),
    snapshot=False,
    may_be_empty=True,
    reference_check="int_returns__unmailed_pieces.sql",
    staging=("staging.print_return", "stg_returns__pieces.sql"),
    core_load="fct_return__load.sql",
)

SOURCES: tuple[SourceSpec, ...] = (
    REGISTER,
    PRIORITY_CAREHOMES,
    PRIORITY_HEALTHWORKERS,
    PRIORITY_VULNERABLE,
    PRIORITY_CONDITIONS,
    BOOKINGS,
    PRINT_CONFIRM,
    RETURNS,
)
"""Every source, in loading order: what a later source is checked against is loaded first."""


def source_named(name: str) -> SourceSpec:
    for spec in SOURCES:
        if spec.name == name:
            return spec
    raise KeyError(f"no source named {name!r}; known: {', '.join(s.name for s in SOURCES)}")
