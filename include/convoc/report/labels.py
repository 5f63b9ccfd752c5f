"""Words and number formats of the summary report, in French (fr_LU) and English (en_GB).

Every figure is formatted here from a :class:`~convoc.report.suppress.Count` or
:class:`~convoc.report.suppress.Share`, so a hidden cell can only ever print as ``< 5`` or ``×``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Literal

from convoc.report.suppress import MIN_CELL, Count, Share, Status

Lang = Literal["fr", "en"]
LANGS: tuple[Lang, ...] = ("fr", "en")
LOCALES: dict[Lang, str] = {"fr": "fr_LU", "en": "en_GB"}

SMALL = f"< {MIN_CELL}"
MASKED = "×"
NOT_APPLICABLE = "–"
MINUS = "\u2212"

LABELS: dict[Lang, dict[str, str]] = {
    "fr": {
        "title_daily": "Campagnes de convocation – rapport quotidien",
        "title_weekly": "Campagnes de convocation – rapport hebdomadaire",
        "period_daily": "Journée du {end}",
        "period_weekly": "Semaine du {start} au {end}",
        "previous_daily": "Variation par rapport au rapport de la veille ({prev})",
        "previous_weekly": "Variation par rapport au rapport de la semaine précédente ({prev})",
        "headline": "Chiffres clés",
        "all": "Toutes campagnes",
        "value": "Valeur",
        "change": "Variation",
        "mailed_period": "Lettres envoyées (période)",
        "mailed_total": "Lettres envoyées (cumul)",
        "invited": "Personnes invitées (cumul)",
        "booked": "Rendez-vous pris (cumul)",
        "uptake": "Taux de réservation",
        "vaccinated": "Personnes vaccinées (cumul)",
        "coverage": "Couverture",
        "returned": "Plis retournés (période)",
        "postage": "Frais de port (période)",
        "chart_letters": "Lettres envoyées par jour et par campagne",
        "chart_coverage": "Couverture cumulée par tranche d'âge, au {end}",
        "chart_uptake": "Taux de réservation par jour de vague",
        "age_band": "Tranche d'âge",
        "cantons": "Par canton, depuis le début des campagnes, au {end}",
        "canton": "Canton",
        "c_invited": "Invités",
        "c_mailed_period": "Envoyées (période)",
        "c_mailed": "Envoyées",
        "c_booked": "Rendez-vous",
        "c_uptake": "Taux de réservation",
        "c_returned": "Retours",
        "total": "Total",
        "returns": "Plis retournés par motif",
        "reason": "Motif",
        "r_period": "Période",
        "r_total": "Cumul",
        "unknown_address": "Adresse inconnue",
        "moved": "Déménagé",
        "deceased": "Décédé",
        "print_load": "Charge de l'imprimerie par jour (pièces prévues et capacité)",
        "p_day": "Jour",
        "p_capacity": "Capacité",
        "p_pieces": "Pièces prévues",
        "p_reprints": "dont réimpressions",
        "p_load": "Charge",
        "p_deferred": "Lettres reportées",
        "p_shut": "fermée",
        "channels": "Invitations par canal",
        "ch_channel": "Canal",
        "ch_invitations": "Invitations",
        "ch_letters": "Lettres imprimées",
        "ch_emails": "Courriels acceptés",
        "ch_failed": "Courriels non acceptés",
        "ch_bounced": "Rejets définitifs",
        "ch_fallback": "Lettres de remplacement",
        "ch_paper": "Courrier",
        "ch_both": "Courrier et courriel",
        "ch_email": "Courriel seul",
        "ch_saved": "Frais de port économisés par le courriel : {amount}",
        "rule": (
            "Secret statistique : tout effectif de 1 à 4 personnes est affiché « < 5 » ; 0 est affiché. "
            "Lorsqu'une seule cellule d'une colonne est masquée, la plus petite autre cellule non nulle "
            "l'est aussi (« × ») pour qu'elle ne puisse être déduite du total. Les taux et variations "
            "calculés à partir d'une cellule masquée sont masqués ; les graphiques ne tracent pas les "
            "cellules masquées."
        ),
        "source": "Source : entrepôt convoc, tables marts.* (aucune donnée nominative). Page {page}",
        "points": "pt",
    },
    "en": {
        "title_daily": "Invitation campaigns – daily report",
        "title_weekly": "Invitation campaigns – weekly report",
        "period_daily": "Day of {end}",
        "period_weekly": "Week from {start} to {end}",
        "previous_daily": "Change since the previous day's report ({prev})",
        "previous_weekly": "Change since the previous week's report ({prev})",
        "headline": "Headline figures",
        "all": "All campaigns",
        "value": "Value",
        "change": "Change",
        "mailed_period": "Letters mailed (period)",
        "mailed_total": "Letters mailed (to date)",
        "invited": "People invited (to date)",
        "booked": "Appointments booked (to date)",
        "uptake": "Booking uptake",
        "vaccinated": "People vaccinated (to date)",
        "coverage": "Coverage",
        "returned": "Returned mail (period)",
        "postage": "Postage (period)",
        "chart_letters": "Letters mailed per day by campaign",
        "chart_coverage": "Cumulative coverage by age band, as of {end}",
        "chart_uptake": "Booking uptake by wave day",
        "age_band": "Age band",
        "cantons": "By canton, since the campaigns began, as of {end}",
        "canton": "Canton",
        "c_invited": "Invited",
        "c_mailed_period": "Mailed (period)",
        "c_mailed": "Mailed",
        "c_booked": "Booked",
        "c_uptake": "Uptake",
        "c_returned": "Returned",
        "total": "Total",
        "returns": "Returned mail by reason",
        "reason": "Reason",
        "r_period": "Period",
        "r_total": "To date",
        "unknown_address": "Unknown address",
        "moved": "Moved away",
        "deceased": "Deceased",
        "print_load": "Print shop load per day (pieces planned and capacity)",
        "p_day": "Day",
        "p_capacity": "Capacity",
        "p_pieces": "Pieces planned",
        "p_reprints": "of which reprints",
        "p_load": "Load",
        "p_deferred": "Letters deferred",
        "p_shut": "closed",
        "channels": "Invitations by channel",
        "ch_channel": "Channel",
        "ch_invitations": "Invitations",
        "ch_letters": "Letters printed",
        "ch_emails": "E-mails accepted",
        "ch_failed": "E-mails not accepted",
        "ch_bounced": "Hard bounces",
        "ch_fallback": "Letters instead",
        "ch_paper": "Paper",
        "ch_both": "Paper and e-mail",
        "ch_email": "E-mail only",
        "ch_saved": "Postage saved by e-mail: {amount}",
        "rule": (
            "Statistical confidentiality: any count of 1 to 4 people is shown as “< 5”; 0 is shown. "
            "When a single cell of a column is hidden, the smallest other non-zero cell is hidden too (“×”) "
            "so that it cannot be derived from the total. Rates and changes computed from a hidden cell "
            "are hidden; charts do not draw hidden cells."
        ),
        "source": "Source: convoc warehouse, marts.* tables (no personal data). Page {page}",
        "points": "pp",
    },
}


@dataclass(frozen=True, slots=True)
class Words:
    """Labels and locale formats for one language."""

    lang: Lang

    @property
    def locale(self) -> str:
        return LOCALES[self.lang]

    def __getitem__(self, key: str) -> str:
        return LABELS[self.lang][key]

    def date(self, day: date, pattern: str = "long") -> str:
        from babel.dates import format_date

        return str(format_date(day, pattern, locale=self.locale))

    def number(self, value: int | float) -> str:
        from babel.numbers import format_decimal

        return str(format_decimal(value, locale=self.locale))

    def decimal(self, value: float) -> str:
        """A number with one decimal (percentage points), in the language's format."""
        from babel.numbers import format_decimal

        return str(format_decimal(value, format="#,##0.0", locale=self.locale))

    def count(self, cell: Count) -> str:
        if cell.status is Status.SMALL:
            return SMALL
        if cell.status is Status.MASKED:
            return MASKED
        return self.number(cell.value)

    def percent(self, ratio: float) -> str:
        """A share in one format everywhere in the report: one decimal, the language's sign and spacing
        (``12.5%``, ``12,5 %``; ``50.0%``, not ``50%`` beside ``12.5%``)."""
        from babel import Locale
        from babel.numbers import format_percent

        pattern = Locale.parse(self.locale).percent_formats[None].pattern.replace("#,##0", "#,##0.0", 1)
        return str(format_percent(ratio, format=pattern, locale=self.locale))

    def share(self, cell: Share) -> str:
        if cell.suppressed:
            return SMALL if Status.SMALL in (cell.numerator.status, cell.denominator.status) else MASKED
        value = cell.value
        return NOT_APPLICABLE if value is None else self.percent(value)

    def money(self, euros: float) -> str:
        from babel.numbers import format_currency

        return str(format_currency(euros, "EUR", locale=self.locale))

    def _signed(self, delta: float, text: str) -> str:
        if delta > 0:
            return f"▲ +{text}"
        if delta < 0:
            return f"▼ {MINUS}{text}"
        return f"= {text}"

    def count_change(self, now: Count, before: Count) -> str:
        if not (now.shown and before.shown):
            return MASKED
        delta = now.value - before.value
        return self._signed(delta, self.number(abs(delta)))

    def share_change(self, now: Share, before: Share) -> str:
        a, b = now.value, before.value
        if now.suppressed or before.suppressed:
            return MASKED
        if a is None or b is None:
            return NOT_APPLICABLE
        points = round((a - b) * 100, 1)
        return self._signed(points, f"{self.decimal(abs(points))} {self['points']}")

    def money_change(self, now: float, before: float) -> str:
        delta = round(now - before, 2)
        return self._signed(delta, self.money(abs(delta)))
