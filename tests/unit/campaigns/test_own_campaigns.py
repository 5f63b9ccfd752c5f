"""A deployment's own campaigns (CONVOC_CAMPAIGNS): its campaign files replace the shipped ones for the waves
and the marts, its templates come first for the letters, the shipped templates fill in."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from convoc.cli import main
from convoc.config import Settings
from convoc.letters.render import TEMPLATES_DIR, MissingTemplate, load_templates
from convoc_dev.cli import main as dev_main
from tests.unit.letters.test_render import make_letter

NATIONAL = """\
campaign: national
kind: mailing
title: {fr: Lettre à tous, de: Brief an alle, en: Letter to everyone, pt: Carta a todos}
active_from: 2021-01-01
validity_days: 30
code_suffix: N
"""


def own_campaigns(root: Path) -> Path:
    folder = root / "campaigns"
    (folder / "templates").mkdir(parents=True)
    (folder / "national.yaml").write_text(NATIONAL)
    shutil.copytree(TEMPLATES_DIR / "information", folder / "templates" / "national")
    (folder / "templates" / "national" / "en.txt").write_text(
        "subject: A letter to everyone\nbook: Read more at\nHello.\n\nYour code {booking_code} until {valid_until}.\n"
    )
    return folder


def test_own_templates_first_then_the_shipped_ones(tmp_path: Path) -> None:
    templates = own_campaigns(tmp_path) / "templates"
    found = load_templates([make_letter(1, campaign="national", language="en"), make_letter(2, language="de")],
                           templates)  # fmt: skip
    assert found["national", "en"].subject == "A letter to everyone"
    assert found["vaccination", "de"].subject.startswith("Einladung")  # shipped
    with pytest.raises(MissingTemplate, match="'national' in language 'fr'"):
        load_templates([make_letter(1, campaign="national", language="fr")])  # not shipped


def test_the_waves_plan_the_own_campaigns_only(settings: Settings, capsys: pytest.CaptureFixture[str],
                                               monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:  # fmt: skip
    monkeypatch.setenv("CONVOC_SIGNING_KEY", "c" * 40)
    monkeypatch.setenv("CONVOC_CAMPAIGNS", str(own_campaigns(tmp_path)))
    assert Settings.from_env().templates == tmp_path / "campaigns" / "templates"
    assert dev_main(["generate", "--residents", "300", "--seed", "3", "--out", str(settings.landing)]) == 0
    assert main(["ingest", "--day", "2021-01-29"]) == 0
    capsys.readouterr()
    assert main(["waves", "--day", "2021-01-29"]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1 and out[0].startswith("national 2021-01-29: ")  # no vaccination, no testing
    assert int(out[0].split()[2]) >= 290  # every resident (a few quarantined or not resident)


def test_the_folder_must_exist(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="CONVOC_CAMPAIGNS must be a folder of campaign files"):
        Settings.from_env({"CONVOC_HOME": str(tmp_path), "CONVOC_CAMPAIGNS": str(tmp_path / "nope")})
