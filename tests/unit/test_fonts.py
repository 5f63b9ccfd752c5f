"""The fonts ship with the package: letters render the same on a bare machine, without any font package."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from reportlab.pdfbase import pdfmetrics

from convoc import fonts
from convoc.files import sha256_file
from convoc.letters import layout

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs" / "letters"

DEJAVU_2_37 = {  # Debian fonts-dejavu-core 2.37-6, /usr/share/fonts/truetype/dejavu/
    "DejaVuSans.ttf": "abdc775b21b1bc470d50c97e790d276f2054b7504e56e5bd3e64f48d68582322",
    "DejaVuSans-Bold.ttf": "0d977336a6d5fba34eab8e3199eb218327161b5143749f802982c2bc34df0c96",
    "DejaVuSansMono.ttf": "0f5db4f1749979d961019838b160bec74abdf7f9eca69553fe1aa856bbff49a4",
}

# A fresh interpreter in which every file under /usr/share/fonts is unreadable (an audit hook refuses the
# open, whatever opens it), as on a machine without fonts-dejavu-core: it renders the documentation's
# sample letters and reports which font files it opened.
BARE_MACHINE = textwrap.dedent(
    """
    import json, os, sys
    from pathlib import Path

    opened = []

    def bare_machine(event, args):
        if event == "open" and not isinstance(args[0], int):
            path = os.path.abspath(os.fsdecode(args[0]))
            if path.startswith("/usr/share/fonts"):
                raise PermissionError(f"bare machine: no {path}")
            if path.endswith(".ttf"):
                opened.append(path)

    sys.addaudithook(bare_machine)
    try:
        open("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", "rb")
    except OSError:
        pass
    else:
        raise SystemExit("the system fonts are still readable")

    from convoc.letters.render import render_batch
    from convoc_dev.samples.letters import sample_letters

    out = Path(sys.argv[1])
    for letter in sample_letters():
        render_batch([letter], out / f"letter-{letter.language or 'fr-de'}.pdf", job_id="J20210129")
    print(json.dumps(sorted(set(opened))))
    """
)


def test_letters_render_without_the_system_fonts(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", BARE_MACHINE, str(tmp_path)], cwd=tmp_path, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    # the shipped files, and only them, were read ...
    assert json.loads(done.stdout) == sorted(str(fonts.font_path(file)) for file in fonts.FILES)
    # ... and the letters are byte for byte the committed samples (rendered with Debian's files until now)
    stems = ["letter-fr", "letter-de", "letter-en", "letter-pt", "letter-fr-de"]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(f"{stem}.pdf" for stem in stems)
    for stem in stems:
        assert (tmp_path / f"{stem}.pdf").read_bytes() == (DOCS / f"{stem}.pdf").read_bytes(), stem


def test_the_fonts_are_read_from_the_package() -> None:
    assert layout.FONT_DIR == fonts.FONT_DIR == Path(fonts.__file__).resolve().parent
    assert layout.FONT_DIR.is_relative_to(ROOT / "include" / "convoc")


def test_the_shipped_files_are_what_register_fonts_loads() -> None:
    names = layout.register_fonts()
    assert names == (layout.FONT_REGULAR, layout.FONT_BOLD, layout.FONT_MONO)
    for name, file in zip(names, fonts.FILES, strict=True):
        face = pdfmetrics.getFont(name).face
        assert Path(face.filename) == fonts.font_path(file)
        assert face._ttf_data == fonts.font_path(file).read_bytes()  # the bytes reportlab parsed and embeds


def test_the_shipped_files_are_dejavu_unchanged() -> None:
    # The licence forbids modified fonts under these names: the files are Debian's, byte for byte.
    assert {file: sha256_file(fonts.font_path(file)) for file in fonts.FILES} == DEJAVU_2_37
    assert sorted(p.name for p in fonts.FONT_DIR.glob("*.ttf")) == sorted(fonts.FILES)


def test_the_licence_travels_with_the_fonts() -> None:
    licence = (fonts.FONT_DIR / "LICENSE").read_text()
    assert "Bitstream Vera" in licence and "DejaVu changes are in public domain" in licence
    assert "Permission is hereby granted, free of charge" in licence
    readme = (fonts.FONT_DIR / "README.md").read_text()
    assert "2.37" in readme and "fonts-dejavu-core" in readme and "LICENSE" in readme


def test_font_path_names_only_the_shipped_files() -> None:
    assert fonts.font_path("DejaVuSans.ttf") == fonts.FONT_DIR / "DejaVuSans.ttf"
    with pytest.raises(ValueError, match="not a font shipped with convoc"):
        fonts.font_path("DejaVuSerif.ttf")
