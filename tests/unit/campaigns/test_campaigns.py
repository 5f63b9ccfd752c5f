"""Campaign and centre configuration: the shipped files load; each bad file fails naming the problem."""

from __future__ import annotations

import copy
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml

from convoc import reference
from convoc.campaigns import CampaignError, load_campaigns, load_centres, parse_campaign, parse_centres

CANTONS = dict(reference.communes().select("commune", "canton").iter_rows())
SHIPPED = Path(__file__).resolve().parents[3] / "include" / "convoc" / "campaigns"


def vaccination() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((SHIPPED / "vaccination.yaml").read_text())
    return data


def centres_data() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((SHIPPED / "centres.yaml").read_text())
    return data


def test_shipped_vaccination_campaign() -> None:
    [campaign] = [c for c in load_campaigns() if c.campaign == "vaccination"]
    assert [p.phase for p in campaign.phases] == ["1", "2a", "2b", "3", "4", "5", "6"]
    assert campaign.phases[1].min_age == 75 and campaign.phases[-1].max_age == 54
    assert campaign.doses == 2 and campaign.active_on(date(2021, 1, 29)) and not campaign.active_on(date(2021, 1, 1))


def test_shipped_centres_cover_every_commune() -> None:
    centres = load_centres()
    assert set(centres.catchment) == set(CANTONS)
    assert centres.centre_for("Esch-sur-Alzette", date(2021, 2, 1)) == "esch_belval"
    assert centres.centre_for("Bertrange", date(2021, 2, 1)) == "victor_hugo"  # Luxexpo not open yet
    assert centres.centre_for("Bertrange", date(2021, 5, 1)) == "luxexpo"
    week = sum(centres.daily_capacity(date(2021, 5, 1)).values()) * 7
    assert 40_000 <= week <= 60_000  # ~55,000 a week nationally in spring 2021
    assert centres.daily_capacity(date(2021, 2, 1))["esch_belval"] == 7 * 12 * 12


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d["phases"][0]["groups"].append("vip"), "phase 1: unknown priority group(s) vip"),
        (lambda d: d["phases"][3].update(max_age=76), "the age ranges of phases 3 and 2a overlap"),
        (
            lambda d: d["phases"][4]["groups"].append("health_worker"),
            "phase 4: priority group health_worker is already in phase 1 (phases overlap)",
        ),
        (lambda d: d["phases"].append({"phase": "7"}), "phase 7: empty phase (no age range and no priority group)"),
        (lambda d: d["phases"][6].update(min_age=60, max_age=16), "phase 6: empty age range 60–16"),
        (lambda d: d.update(phases=[]), "`phases` must list at least one phase"),
        (lambda d: d.update(expected_uptake=0), "`expected_uptake` must be a number greater than 0"),
        (lambda d: d.update(capacity_share=0), "`capacity_share` must be a number greater than 0"),
        (lambda d: d.pop("active_from"), "`active_from` is required"),
    ],
)
def test_bad_campaign(change: Any, message: str) -> None:
    data = vaccination()
    change(data)
    with pytest.raises(CampaignError) as err:
        parse_campaign(data, "vaccination.yaml")
    assert str(err.value).startswith("vaccination.yaml")
    assert message in str(err.value)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d["centres"][0].update(lines=0), "centre victor_hugo: capacity 0 (`lines` is 0)"),
        (lambda d: d["centres"][1].update(hours="20:00-08:00"), "centre esch_belval: capacity 0: opening hours"),
        (
            lambda d: d["catchment"]["cantons"].update(Remich="nowhere"),
            "catchment canton Remich: unknown centre nowhere",
        ),
        (lambda d: d["catchment"]["communes"].update(Atlantis="mondorf"), "unknown commune(s) Atlantis"),
        (lambda d: d["catchment"]["cantons"].pop("Wiltz"), "commune(s) book at no centre: Boulaide (Wiltz)"),
        (lambda d: d["centres"][2].update(commune="Ettelbrück"), "unknown commune 'Ettelbrück'"),
    ],
)
def test_bad_centres(change: Any, message: str) -> None:
    data = copy.deepcopy(centres_data())
    change(data)
    with pytest.raises(CampaignError, match=None) as err:
        parse_centres(data, "centres.yaml", CANTONS)
    assert message in str(err.value)


def test_duplicate_campaign_names(tmp_path: Path) -> None:
    for name in ("a.yaml", "b.yaml"):
        (tmp_path / name).write_text(yaml.safe_dump(vaccination()))
    with pytest.raises(CampaignError, match="campaign names must be unique"):
        load_campaigns(tmp_path)


def test_invalid_yaml(tmp_path: Path) -> None:
    (tmp_path / "x.yaml").write_text("campaign: [unclosed\n")
    with pytest.raises(CampaignError, match=r"x\.yaml: not valid YAML"):
        load_campaigns(tmp_path)
