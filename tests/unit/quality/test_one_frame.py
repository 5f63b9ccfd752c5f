"""Within one GX run over a frame (``expectations.one_frame``), a column goes to polars once and its distinct values are
found once, whatever the number of rules judging it — and each column is still judged as itself."""

from __future__ import annotations

import pandas as pd
import polars as pl
import pytest

from convoc import text
from convoc.quality import conditions, expectations


@pytest.fixture
def frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "family_name": ["Muller", "Mul\u200bler", None, "\u0428\u043c\u0438\u0442"],  # Шмит: Cyrillic
            "street": ["Rue Haute", "Rue Haute", "Rue\x07 Basse", "Rue Haute"],
        },
        index=pd.Index([2, 3, 5, 8], name="_line"),
    )


def rules(frame: pd.DataFrame) -> list[list[bool]]:
    """The four text rules of the register, as its multi-column expectations run them."""
    found = [
        expectations._apply_all(frame, conditions.has_none_of, pattern)
        for pattern in (text.CONTROL, text.INVISIBLE, text.UNPRINTABLE)
    ]
    found.append(expectations._apply_all(frame, conditions.at_most_characters, 9))
    assert all(list(f.index) == [2, 3, 5, 8] for f in found)
    return [list(f) for f in found]


def counting(monkeypatch: pytest.MonkeyPatch, owner: object, name: str) -> list[int]:
    calls: list[int] = []
    real = getattr(owner, name)

    def counted(*args: object, **kwargs: object) -> object:
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(owner, name, counted)
    return calls


def test_the_same_verdicts_with_each_column_converted_once(
    frame: pd.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    expected = [
        [True, True, False, True],  # the bell in the street
        [True, False, True, True],  # the zero-width space in the name
        [True, True, True, False],  # the Cyrillic name
        [True, True, False, True],  # "Rue\x07 Basse" is 10 characters
    ]
    conversions = counting(monkeypatch, pl, "from_pandas")
    distinct = counting(monkeypatch, pl.Series, "unique")
    assert rules(frame) == expected
    assert (len(conversions), len(distinct)) == (8, 8)  # each rule converts and deduplicates both columns
    conversions.clear()
    distinct.clear()
    with expectations.one_frame():
        assert rules(frame) == expected
        street = [True, True, False, True]
        assert rules(frame[["street"]]) == [street, [True] * 4, [True] * 4, street]  # GX's frame of some columns
    assert (len(conversions), len(distinct)) == (2, 2)  # once per column
    conversions.clear()
    with expectations.one_frame():  # a new frame: converted again, never another frame's column
        assert rules(frame.assign(street=["Rue Haute"] * 4)) == [
            [True, True, True, True],
            [True, False, True, True],
            [True, True, True, False],
            [True, True, True, True],
        ]
    assert len(conversions) == 2


def test_a_frame_made_from_polars_is_judged_on_its_own_columns_the_values_the_conversion_gives(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # validate_files hands GX the chunk as pandas and one_frame the chunk itself: the text columns are taken from
    # it, never converted back, and they are the values the conversion from pandas gives (nulls, empty strings,
    # non-ASCII and invisible characters included).
    source = pl.DataFrame(
        {
            "_line": [2, 3, 5, 8],
            "family_name": ["Muller", "Mul\u200bler", None, "\u0428\u043c\u0438\u0442"],
            "street": ["", "Rue Haute", "Rue\x07 Basse", None],
        }
    )
    frame = source.to_pandas().set_index("_line")
    for name in ("family_name", "street"):
        assert expectations._polars(frame[name]).equals(source[name], check_names=True)
    conversions = counting(monkeypatch, pl, "from_pandas")
    with expectations.one_frame(source):
        judged = rules(frame)
        assert expectations._polars(frame["street"]).equals(source["street"])
    assert conversions == []
    with expectations.one_frame():
        assert rules(frame) == judged  # the same verdicts as when converted
    assert len(conversions) == 2
