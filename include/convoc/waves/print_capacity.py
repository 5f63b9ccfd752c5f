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

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import duckdb

    from convoc.waves.plan import Selection

TIER = {"priority": 1, "booster": 1, "sample": 2, "mailing": 3}
LATER_DOSE = 0


def ranked(selections: list[Selection]) -> str:
    """SQL: every selected letter of the day in print order (columns ``selection``: its index in
    ``selections``, ``_row``: its row id in that selection's table). Invitations sent by e-mail only are no
    letter: they are not ranked."""
    names = sorted(s.campaign.campaign for s in selections)
    parts = [
        f"""select {i} as selection, rowid as _row,
                case when dose > 1 then {LATER_DOSE} else {TIER[s.campaign.kind]} end as _tier,
                cast(phase_rank as bigint) as phase_rank, cast(print_order as double) as print_order,
                {names.index(s.campaign.campaign)} as campaign_order, cast(resident_id as bigint) as resident_id
            from {s.table} where channel <> 'email'"""
        for i, s in enumerate(selections)
    ]
    union = " union all ".join(parts) or "select 0 as selection, 0 as _row where false"
    return f"select selection, _row from ({union}) order by _tier, phase_rank, print_order, campaign_order, resident_id"


def allocate(con: duckdb.DuckDBPyConnection, selections: list[Selection], pieces: int) -> list[str]:
    """For each selection (in the order of ``selections``), the temp table of its rows the print shop takes
    when ``pieces`` are left for new letters: the selection's own table when everything fits, else
    ``<table>__kept`` — the letters within the first ``pieces`` of the day's print order, and every e-mail-only
    invitation (no paper). Ranked and cut in the warehouse: a national mailing is never a Python frame."""
    if sum(s.paper for s in selections) <= pieces:
        return [s.table for s in selections]
    con.execute(f"create or replace temp table _taken as {ranked(selections)} limit {max(0, int(pieces))}")
    try:
        for i, s in enumerate(selections):
            con.execute(
                f"create or replace temp table {s.table}__kept as select * from {s.table} "
                f"where channel = 'email' or rowid in (select _row from _taken where selection = {i})"
            )
    finally:
        con.execute("drop table if exists _taken")
    return [f"{s.table}__kept" for s in selections]
