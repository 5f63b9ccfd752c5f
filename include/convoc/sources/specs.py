"""The landing files convoc knows: name pattern and, per column, how it is normalised and checked.

One ``SourceSpec`` per source; extraction, normalisation, validation and loading are all driven by these.
Each ``Column`` says which normalisation rule of ``convoc.text`` applies (its ``kind``) and which checks
its value must pass; a value of a ``text`` column is also checked for control and invisible characters.
Every column of another kind has a format, a value set or a reference list, so that nothing but canonical
ASCII is stored there (``SourceSpec`` refuses to be built otherwise).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Literal

from convoc.text import Kind

NAME_LENGTH = 60
"""Longest family or given name, in characters: past about 50 the letter's window line shortens it (initials,
truncation), past 60 it no longer reads as a name — the register team must shorten it."""
STREET_LENGTH = 80
"""Longest street name: the letter abbreviates and truncates what does not fit the window's 80 mm."""
LOCALITY_LENGTH = 40
"""Longest locality (the country's longest is under 30 characters)."""
HOUSE_NUMBER_LENGTH = 10
"""Longest house number (``12-14A``, ``3 bis``)."""
EMAIL_LENGTH = 254
"""Longest e-mail address (RFC 5321's path limit less the angle brackets)."""
FREE_TEXT_LENGTH = 100
"""Longest other free-text value (care-home names, conditions)."""
EARLIEST_BIRTH_DATE = "1900-01-01"
"""Birth dates before this are taken for typing errors (nobody registered is that old)."""


@dataclass(frozen=True)
class Column:
    """One column of a landing file: normalisation ``kind`` (see ``convoc.text``) and the checks on its value.

    Each check quarantines a failing row under its rule: ``required`` → missing_required, ``values`` →
    invalid_value, ``pattern`` (an ASCII format) → invalid_value, ``date`` → <name>_unparseable,
    ``not_after_day`` → <name>_future, ``not_before`` → <name>_too_early, ``reference`` →
    unknown_<reference>, ``max_length`` → too_long, ``printable`` → unprintable_character; kind
    ``matricule`` → matricule_check_digit, ``integer`` → not_an_integer, ``email`` → invalid_email,
    ``booking_code`` → invalid_code; ``required_when`` and ``not_before_column`` → the rule they name.
    """

    name: str
    kind: Kind = "code"
    required: bool = False
    # Personal values are masked wherever they are reported.
    personal: bool = False
    values: tuple[str, ...] = ()
    pattern: str | None = None
    date: Literal["date", "timestamp"] | None = None
    not_after_day: bool = False
    not_before: str | None = None
    reference: Literal["postcode", "commune", "centre"] | None = None
    max_length: int | None = None
    # Printed on a letter (names, address): Latin script the post reads, drawable by the letter's fonts.
    printable: bool = False
    booking_code: bool = False
    # Required where another column holds one of some values: (other column, its values, rule).
    required_when: tuple[str, tuple[str, ...], str] | None = None
    # A date not before the date of another column of the row: (other column, rule).
    not_before_column: tuple[str, str] | None = None

    @property
    def restricted(self) -> bool:
        """Whether a check confines the value to a known shape (required of every non-text column)."""
        return bool(
            self.values
            or self.pattern
            or self.date
            or self.reference
            or self.booking_code
            or self.kind in ("matricule", "integer", "postcode", "email")
        )


@dataclass(frozen=True)
class SourceSpec:
    """A kind of landing file, ``<name>_YYYYMMDD.csv``, one per day, with the columns its header must name
    (extra columns are ignored)."""

    name: str
    schema: tuple[Column, ...]
    # A column whose values may occur once per file (on their normalised form), and the rule that
    # quarantines every occurrence of a repeated one.
    unique: tuple[str, str] | None = None
    # Whether the file holds a whole population, so that its row count is compared to the last one.
    snapshot: bool = True
    # Whether a file with no data rows is normal (a day without bookings) rather than refused.
    may_be_empty: bool = False
    # The SQL file (under sql/intermediate) listing rows that name nothing known in the warehouse.
    reference_check: str | None = None
    # Where valid rows go: the staging table and the SQL file (under sql/staging) that selects them.
    staging: tuple[str, str] | None = None
    # The SQL script (under sql/core) that publishes the staged rows of one file ($file_name).
    core_load: str | None = None

    def __post_init__(self) -> None:
        for column in self.schema:
            if column.kind != "text" and not column.restricted:
                raise ValueError(f"{self.name}.{column.name}: a {column.kind} column needs a format or value set")
            if column.kind == "text" and column.max_length is None:
                raise ValueError(f"{self.name}.{column.name}: a text column needs a maximum length")

    @property
    def columns(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.schema)

    @property
    def required(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.schema if c.required)

    @property
    def personal(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.schema if c.personal)

    def column(self, name: str) -> Column:
        for c in self.schema:
            if c.name == name:
                return c
        raise KeyError(f"{self.name} has no column {name!r}")

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


def _matricule() -> Column:
    return Column("matricule", kind="matricule", required=True, personal=True)


REGISTER = SourceSpec(
    name="register",
    schema=(
        _matricule(),
        Column("family_name", kind="text", required=True, personal=True, max_length=NAME_LENGTH, printable=True),
        Column("given_name", kind="text", required=True, personal=True, max_length=NAME_LENGTH, printable=True),
        Column(
            "birth_date",
            required=True,
            personal=True,
            date="date",
            not_after_day=True,
            not_before=EARLIEST_BIRTH_DATE,
        ),
        Column("sex", required=True, values=("F", "M", "X")),
        Column("street", kind="text", required=True, personal=True, max_length=STREET_LENGTH, printable=True),
        Column("house_number", kind="text", personal=True, max_length=HOUSE_NUMBER_LENGTH, printable=True),
        Column("postcode", kind="postcode", required=True, reference="postcode"),
        Column("locality", kind="text", required=True, max_length=LOCALITY_LENGTH, printable=True),
        Column("commune", kind="text", required=True, reference="commune", max_length=LOCALITY_LENGTH),
        # ISO 3166-1 alpha-2 (``XX`` for unknown or stateless).
        Column("nationality", required=True, pattern=r"^[A-Z]{2}$"),
        Column("language", values=("fr", "de", "en", "pt")),
        Column("status", required=True, values=("resident", "deceased", "emigrated")),
    ),
    unique=("matricule", "duplicate_matricule"),
)

_REGISTERED_ON = Column("registered_on", required=True, date="date", not_after_day=True)

PRIORITY_CAREHOMES = SourceSpec(
    name="priority_carehomes",
    schema=(
        _matricule(),
        Column("role", required=True, values=("resident", "staff")),
        Column("facility", kind="text", required=True, max_length=FREE_TEXT_LENGTH),
        Column("commune", kind="text", reference="commune", max_length=LOCALITY_LENGTH),
    ),
    snapshot=False,
    reference_check="int_priority__unknown_residents.sql",
    staging=("staging.priority_group", "stg_priority__groups.sql"),
)

PRIORITY_HEALTHWORKERS = SourceSpec(
    name="priority_healthworkers",
    schema=(
        _matricule(),
        Column(
            "profession",
            required=True,
            values=("doctor", "nurse", "carer", "pharmacist", "physiotherapist", "midwife", "dentist", "paramedic"),
        ),
        Column("sector", values=("hospital", "practice", "care_home", "pharmacy", "rescue")),
    ),
    snapshot=False,
    reference_check="int_priority__unknown_residents.sql",
    staging=("staging.priority_group", "stg_priority__groups.sql"),
)

PRIORITY_VULNERABLE = SourceSpec(
    name="priority_vulnerable",
    schema=(
        _matricule(),
        Column("level", required=True, values=("high", "significant", "moderate")),
        Column("condition", kind="text", personal=True, max_length=FREE_TEXT_LENGTH),
        _REGISTERED_ON,
        Column("doctor_code", personal=True, pattern=r"^[A-Za-z0-9-]{1,16}$"),
    ),
    snapshot=False,
    reference_check="int_priority__unknown_residents.sql",
    staging=("staging.priority_group", "stg_priority__groups.sql"),
)

PRIORITY_CONDITIONS = SourceSpec(
    name="priority_conditions",
    schema=(
        _matricule(),
        Column(
            "condition", required=True, personal=True, values=("pregnancy", "bmi_30_40", "diabetes", "hypertension")
        ),
        _REGISTERED_ON,
    ),
    snapshot=False,
    reference_check="int_priority__unknown_residents.sql",
    staging=("staging.priority_group", "stg_priority__groups.sql"),
)

# Bookings made with invitation codes (from the booking system), one row per booking made or updated
# (e.g. the dose administered) on the day before the file's date.
BOOKINGS = SourceSpec(
    name="bookings",
    schema=(
        Column("booking_code", required=True, personal=True, booking_code=True),
        Column("booked_at", required=True, date="timestamp"),
        Column("centre", required=True, reference="centre"),
        Column("slot", required=True, date="timestamp"),
        Column("administered_at", date="timestamp"),
    ),
    unique=("booking_code", "duplicate_code"),
    snapshot=False,
    may_be_empty=True,
    reference_check="int_booking__unknown_codes.sql",
    staging=("staging.booking", "stg_bookings__bookings.sql"),
    core_load="fct_booking__load.sql",
)

_JOB_ID = Column("job_id", required=True, pattern=r"^J[0-9]{8}(-R[0-9]{1,4})?$")
_PIECE_ID = Column("piece_id", kind="integer", required=True)

# The print shop's confirmations: one row per piece of a job it handled, mailed or spoiled (spoiled
# pieces are reprinted), reported on the day before the file's date.
PRINT_CONFIRM = SourceSpec(
    name="print_confirm",
    schema=(
        _JOB_ID,
        _PIECE_ID,
        Column("status", required=True, values=("mailed", "spoiled")),
        Column("event_date", required=True, date="date", not_after_day=True),
    ),
    snapshot=False,
    may_be_empty=True,
    reference_check="int_print_confirm__unknown_pieces.sql",
    staging=("staging.print_confirm", "stg_print_confirm__pieces.sql"),
    core_load="fct_print_event__load.sql",
)

# Returned mail, as the post office hands it back to the print shop: one row per returned piece.
RETURNS = SourceSpec(
    name="returns",
    schema=(
        _JOB_ID,
        _PIECE_ID,
        Column("reason", required=True, values=("unknown_address", "moved", "deceased")),
        Column("returned_on", required=True, date="date", not_after_day=True),
    ),
    snapshot=False,
    may_be_empty=True,
    reference_check="int_returns__unmailed_pieces.sql",
    staging=("staging.print_return", "stg_returns__pieces.sql"),
    core_load="fct_return__load.sql",
)

# What residents asked for: how to be invited (paper, e-mail or both) and in which format (standard or large
# print), one row per declaration received the day before the file's date. Consent and withdrawal dates are
# the resident's; a later row for the same resident supersedes an earlier one (``core.dim_contact_preference``).
CONTACT_PREFERENCES = SourceSpec(
    name="contact_preferences",
    schema=(
        _matricule(),
        Column(
            "email",
            kind="email",
            personal=True,
            max_length=EMAIL_LENGTH,
            required_when=("channel", ("email", "both"), "missing_email"),
        ),
        Column("channel", required=True, values=("paper", "email", "both")),
        Column("format", values=("standard", "large_print")),
        Column("consented_on", required=True, date="date", not_after_day=True),
        Column(
            "withdrawn_on",
            date="date",
            not_after_day=True,
            not_before_column=("consented_on", "withdrawn_before_consented"),
        ),
    ),
    unique=("matricule", "duplicate_matricule"),
    snapshot=False,
    may_be_empty=True,
    reference_check="int_priority__unknown_residents.sql",
    staging=("staging.contact_preference", "stg_contact__preferences.sql"),
    core_load="dim_contact_preference__load.sql",
)

# Bounces of e-mail invitations, as the mail relay reports them: one row per bounce notice received the day
# before the file's date. A hard bounce sends the invitation's paper letter instead (convoc.letters).
EMAIL_BOUNCES = SourceSpec(
    name="email_bounces",
    schema=(
        Column("message_id", required=True, pattern=r"^<[A-Za-z0-9._-]{1,128}@[A-Za-z0-9.-]{1,128}>$"),
        Column("bounced_at", required=True, date="timestamp", not_after_day=True),
        Column("kind", required=True, values=("hard", "soft")),
    ),
    snapshot=False,
    may_be_empty=True,
    reference_check="int_bounces__unknown_messages.sql",
    staging=("staging.email_bounce", "stg_email_bounces__bounces.sql"),
    core_load="fct_email_bounce__load.sql",
)

SOURCES: tuple[SourceSpec, ...] = (
    REGISTER,
    CONTACT_PREFERENCES,
    PRIORITY_CAREHOMES,
    PRIORITY_HEALTHWORKERS,
    PRIORITY_VULNERABLE,
    PRIORITY_CONDITIONS,
    BOOKINGS,
    PRINT_CONFIRM,
    RETURNS,
    EMAIL_BOUNCES,
)
"""Every source, in loading order: what a later source is checked against is loaded first."""


def source_named(name: str) -> SourceSpec:
    for spec in SOURCES:
        if spec.name == name:
            return spec
    raise KeyError(f"no source named {name!r}; known: {', '.join(s.name for s in SOURCES)}")
