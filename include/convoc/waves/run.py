"""The invitation_waves stage: plan every active campaign's wave of a day, in one transaction."""

from __future__ import annotations

from datetime import date

from convoc import faults, warehouse
from convoc.campaigns import load_campaigns, load_centres
from convoc.config import Settings
from convoc.waves.plan import WaveResult, plan_wave

WAVES_MEMORY_LIMIT = "1GB"


def run_waves(settings: Settings, day: date, key: bytes) -> list[WaveResult]:
    """Plan the day's waves of all campaigns active on ``day``; configuration is validated first."""
    campaigns = [c for c in load_campaigns() if c.active_on(day)]
    centres = load_centres()
    results = []
    # Ranking a whole population per centre does not spill well: give it more room than the default.
    with warehouse.connect(settings.warehouse, memory_limit=WAVES_MEMORY_LIMIT) as con:
        warehouse.ensure_schema(con)
        with warehouse.transaction(con):
            for campaign in campaigns:
                results.append(plan_wave(con, campaign, centres, day, key, settings.capacity_scale))
            faults.point("waves.before_commit")
    return results
