"""The print shop's capacity across a day's campaigns: which selected letters go out today, which wait.

Every day's paper pieces stay within the print shop's capacity (``print_shop.yaml``), the reprints of
spoiled pieces pending that day counted first (they are owed already). The letters the centres allow are
then taken in this order, across campaigns, until the capacity is used:

1. later doses (second doses) of every campaign: a person already vaccinated once must not wait;
2. first letters of the priority and booster campaigns, by phase rank, then oldest first;
3. sampling campaigns (large-scale testing), the same share of every stratum (the sample stays
   representative);
4. mailings.

Ties go to the campaign's name and then the resident id, so a re-run cuts at the same letter. What does not
fit is not written: it is selected again the next day (the centres' quotas then count it as not sent) and
counted in ``core.fct_wave.deferred``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from convoc.waves.plan import Selection

TIER = {"priority": 1, "booster": 1, "sample": 2, "mailing": 3}
LATER_DOSE = 0


def ranked(selections: list[Selection]) -> Any:
    """Every selected letter of the day in print order (columns ``campaign``, ``_row``: its row in its
    selection). Invitations sent by e-mail only are no letter: they are not ranked."""
    import polars as pl

    frames = [
        s.rows.select(
            pl.lit(s.campaign.campaign).alias("campaign"),
            pl.int_range(pl.len(), dtype=pl.Int64).alias("_row"),
            pl.when(pl.col("dose") > 1).then(LATER_DOSE).otherwise(TIER[s.campaign.kind]).alias("_tier"),
            pl.col("phase_rank").cast(pl.Int64),
            pl.col("print_order").cast(pl.Float64),
            pl.col("resident_id").cast(pl.Int64),
            _paper(s.rows).alias("_paper"),
        )
        .filter("_paper")
        .drop("_paper")
        for s in selections
    ]
    if not frames:
        return pl.DataFrame(schema={"campaign": pl.String, "_row": pl.Int64})
    return pl.concat(frames).sort(["_tier", "phase_rank", "print_order", "campaign", "resident_id"])


def allocate(selections: list[Selection], pieces: int) -> list[Any]:
    """Each selection's rows the print shop takes when ``pieces`` are left for new letters (in the order of
    ``selections``; a selection's rows keep their own order)."""
    import polars as pl

    total = sum(int(_paper(s.rows).sum()) for s in selections)
    if total <= pieces:
        return [s.rows for s in selections]
    taken = ranked(selections).head(max(0, pieces))
    out = []
    for s in selections:
        rows = taken.filter(pl.col("campaign") == s.campaign.campaign)["_row"].cast(pl.UInt32)
        indexed = s.rows.with_row_index("_row")
        kept = indexed.filter(pl.col("_row").is_in(rows.implode()) | ~_paper(indexed))  # e-mail only: always sent
        out.append(kept.drop("_row"))
    return out


def _paper(rows: Any) -> Any:
    """Which rows are a paper letter: all but those invited by e-mail only (``channel``)."""
    import polars as pl

    if "channel" not in rows.columns:
        return pl.repeat(True, rows.height, eager=True)
    return rows["channel"] != "email"
