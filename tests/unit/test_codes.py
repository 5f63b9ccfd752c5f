from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from convoc.codes import (
    ALPHABET,
    InvalidCode,
    MissingSigningKey,
    ParsedCode,
    SigningKeyRefused,
    create_key_file,
    is_well_formed,
    load_key,
    make_code,
    normalize,
    parse,
    verify,
)
from convoc.errors import ConvocError

KEY = b"k" * 32
OTHER_KEY = b"q" * 32
ID = "vaccination:1:123:1"
FORMAT = re.compile(r"^[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}(-[0-9A-HJKMNP-TV-Z]{1,3})?$")


def _formatted(symbols: str) -> str:
    return "-".join(symbols[i : i + 4] for i in range(0, 12, 4))


def _compact(code: str) -> str:
    return code.replace("-", "")[:12]


def test_alphabet_is_crockford() -> None:
    assert len(ALPHABET) == len(set(ALPHABET)) == 32
    assert not set("ILOU") & set(ALPHABET)


def test_format_and_determinism() -> None:
    code = make_code(ID, KEY)
    assert FORMAT.match(code)
    assert len(code) == 14
    assert make_code(ID, KEY) == code
    assert make_code(ID, OTHER_KEY) != code
    assert make_code("vaccination:1:123:2", KEY) != code
    assert FORMAT.match(make_code(ID, KEY, suffix="T"))
    assert FORMAT.match(make_code(ID, KEY, suffix="AB9"))


def test_no_collision_in_100k_ids() -> None:
    codes = {make_code(f"vaccination:1:{i}:1", KEY) for i in range(100_000)}
    assert len(codes) == 100_000


def test_round_trip() -> None:
    for i in range(200):
        code = make_code(f"screening:2:{i}:1", KEY)
        parsed = parse(code)
        assert len(parsed.body) == 11 and len(parsed.check) == 1 and parsed.suffix is None
        assert parsed.formatted() == code
        assert parse(parsed.formatted()) == parsed


def test_normalize_reads_like_a_person_types() -> None:
    code = make_code(ID, KEY)
    compact = code.replace("-", "")
    assert normalize(code) == compact
    assert normalize(" " + " ".join(code.lower()) + " ") == compact
    assert normalize("o1il-OOLI") == "01110011"
    assert normalize(code + "-t") == compact + "-T"
    assert normalize(compact.lower() + "t") == compact + "-T"
    typed = code.lower().replace("0", "o").replace("1", "l")
    assert parse(typed).formatted() == code
    assert parse(code.replace("-", " ").lower()).formatted() == code


@pytest.mark.parametrize("invitation_id", ["vaccination:1:123:1", "screening:7:42:3", "x", ""])
def test_every_single_substitution_is_caught(invitation_id: str) -> None:
    symbols = _compact(make_code(invitation_id, KEY))
    caught = 0
    for position in range(12):
        for other in ALPHABET:
            if other == symbols[position]:
                continue
            mutated = symbols[:position] + other + symbols[position + 1 :]
            with pytest.raises(InvalidCode, match="check symbol does not match"):
                parse(_formatted(mutated))
            assert not is_well_formed(mutated)
            caught += 1
    assert caught == 12 * 31


def test_most_adjacent_transpositions_are_caught() -> None:
    total = caught = 0
    missed: set[frozenset[str]] = set()
    for i in range(2_000):
        symbols = _compact(make_code(f"vaccination:1:{i}:1", KEY))
        for position in range(11):
            a, b = symbols[position], symbols[position + 1]
            if a == b:
                continue
            swapped = symbols[:position] + b + a + symbols[position + 2 :]
            total += 1
            if is_well_formed(swapped):
                missed.add(frozenset((a, b)))
            else:
                caught += 1
    assert total > 20_000
    assert caught / total >= 0.95
    # Luhn mod N misses only the swap of the first and last symbols of the alphabet (like 09 ↔ 90 in mod 10).
    assert missed <= {frozenset(("0", "Z"))}


def test_suffix() -> None:
    code = make_code(ID, KEY, suffix="T")
    assert code == make_code(ID, KEY) + "-T"
    parsed = parse(code)
    assert parsed.suffix == "T"
    assert parsed.formatted() == code
    assert parse(code.replace("-", "").lower()).suffix == "T"
    assert parse(make_code(ID, KEY, suffix="AB9")).suffix == "AB9"
    assert verify(code, ID, KEY)
    for bad in ["", "ABCD", "U", "t", "-"]:
        with pytest.raises(ValueError, match="suffix"):
            make_code(ID, KEY, suffix=bad)
    assert ParsedCode("0" * 11, "0", "X").formatted() == "0000-0000-0000-X"


@pytest.mark.parametrize("text", ["ABCD-EFGH-JKM", "ABCD-EFGH-JKMN-PQRS", "", "ABCD"])
def test_wrong_length_message(text: str) -> None:
    with pytest.raises(InvalidCode, match=r"wrong length: a booking code has 12 symbols") as exc:
        parse(text)
    assert f"got {len(text.replace('-', ''))} symbols" in str(exc.value)
    assert isinstance(exc.value, ConvocError)


def test_bad_symbol_message_names_it_and_its_position() -> None:
    code = make_code(ID, KEY)
    typed = code[:5] + "U" + code[6:]  # sixth character, fifth symbol once hyphens are dropped
    with pytest.raises(InvalidCode, match=r"symbol 'U' at position 5 .*the letter U is not used") as exc:
        parse(typed)
    assert "I, L, O and U" in str(exc.value)
    with pytest.raises(InvalidCode, match=r"symbol '\*' at position 1 "):
        parse("*" + code[1:])


def test_bad_check_message() -> None:
    symbols = _compact(make_code(ID, KEY))
    wrong = ALPHABET[(ALPHABET.index(symbols[11]) + 1) % 32]
    with pytest.raises(InvalidCode, match=r"^check symbol does not match: probably a mistyped symbol"):
        parse(_formatted(symbols[:11] + wrong))


def test_verify() -> None:
    code = make_code(ID, KEY)
    assert verify(code, ID, KEY)
    assert verify(code.lower().replace("-", " "), ID, KEY)
    assert not verify(code, ID, OTHER_KEY)
    assert not verify(code, "vaccination:1:123:2", KEY)
    assert not verify("not a code", ID, KEY)
    assert not verify(make_code("vaccination:1:124:1", KEY), ID, KEY)


def test_load_key_from_env() -> None:
    key = "s" * 40
    assert load_key({"CONVOC_SIGNING_KEY": key}) == key.encode()
    assert load_key({"CONVOC_SIGNING_KEY": "é" * 32}) == ("é" * 32).encode("utf-8")


def test_load_key_refuses_short_key() -> None:
    with pytest.raises(SigningKeyRefused, match="31 characters long; at least 32"):
        load_key({"CONVOC_SIGNING_KEY": "s" * 31})


def test_load_key_from_file(tmp_path: Path) -> None:
    path = tmp_path / "key"
    path.write_text("f" * 40 + "\n")
    path.chmod(0o600)
    assert load_key({"CONVOC_SIGNING_KEY_FILE": str(path)}) == b"f" * 40


def test_load_key_refuses_group_readable_file(tmp_path: Path) -> None:
    path = tmp_path / "key"
    path.write_text("f" * 40)
    for mode in (0o640, 0o604, 0o660):
        path.chmod(mode)
        with pytest.raises(SigningKeyRefused, match=f"group or others.*chmod 600 {re.escape(str(path))}"):
            load_key({"CONVOC_SIGNING_KEY_FILE": str(path)})


def test_load_key_missing_file(tmp_path: Path) -> None:
    with pytest.raises(MissingSigningKey, match="does not exist"):
        load_key({"CONVOC_SIGNING_KEY_FILE": str(tmp_path / "nope")})


def test_load_key_missing_says_how_to_provide_one(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(MissingSigningKey) as exc:
        load_key({})
    message = str(exc.value)
    for needle in ("CONVOC_SIGNING_KEY", "CONVOC_SIGNING_KEY_FILE", "`convoc_signing_key`", "no built-in key"):
        assert needle in message
    assert isinstance(exc.value, ConvocError)
    monkeypatch.delenv("CONVOC_SIGNING_KEY", raising=False)
    monkeypatch.delenv("CONVOC_SIGNING_KEY_FILE", raising=False)
    with pytest.raises(MissingSigningKey):
        load_key()
    monkeypatch.setenv("CONVOC_SIGNING_KEY", "e" * 32)
    assert load_key() == b"e" * 32


def test_create_key_file(tmp_path: Path) -> None:
    path = tmp_path / "secrets" / "signing.key"
    assert create_key_file(path) == path
    assert path.stat().st_mode & 0o777 == 0o600
    assert path.parent.stat().st_mode & 0o777 == 0o700
    content = path.read_text()
    assert len(content.strip()) >= 64
    assert create_key_file(path) == path
    assert path.read_text() == content
    assert path.stat().st_mode & 0o777 == 0o600
    key = load_key({"CONVOC_SIGNING_KEY_FILE": str(path)})
    assert verify(make_code(ID, key), ID, key)


def test_create_key_file_checks_existing_mode(tmp_path: Path) -> None:
    path = tmp_path / "signing.key"
    path.write_text("f" * 40)
    os.chmod(path, 0o644)
    with pytest.raises(SigningKeyRefused):
        create_key_file(path)
    assert path.read_text() == "f" * 40


def _warehouse_codes(ids: list[str], key: bytes, suffix: str | None) -> list[str]:
    """The codes of ``ids`` as the warehouse makes a wave's (sql/macros/booking_code.sql), in order."""
    import duckdb

    from convoc import warehouse
    from convoc.codes import hmac_pads

    inner, outer = hmac_pads(key)
    with duckdb.connect() as con:
        warehouse.create_macros(con)
        rows = con.execute(
            "select booking_code(booking_code_bits(id, $inner, $outer), $suffix) "
            "from unnest($ids) with ordinality as t(id, n) order by n",
            {"ids": ids, "inner": inner, "outer": outer, "suffix": suffix},
        ).fetchall()
    return [code for (code,) in rows]


def test_the_warehouse_makes_the_codes_python_makes_for_many_ids() -> None:
    ids = [f"testing:1:{i}:1" for i in range(5_000)]
    assert _warehouse_codes(ids, b"q" * 32, "T") == [make_code(i, b"q" * 32, "T") for i in ids]
    assert _warehouse_codes(ids, KEY, None) == [make_code(i, KEY) for i in ids]


@given(
    ids=st.lists(st.text(min_size=0, max_size=60), min_size=1, max_size=20),
    key=st.binary(min_size=1, max_size=200),  # shorter and longer than SHA-256's block of 64 bytes
    suffix=st.none() | st.text(alphabet=ALPHABET, min_size=1, max_size=3),
)
@settings(max_examples=60, deadline=None)
def test_the_warehouse_makes_the_code_python_makes_for_any_id_key_and_suffix(
    ids: list[str], key: bytes, suffix: str | None
) -> None:
    ids = [i.replace("\x00", "") for i in ids]  # (DuckDB's text holds no NUL; an invitation id never does)
    assert _warehouse_codes(ids, key, suffix) == [make_code(i, key, suffix) for i in ids]


def test_hmac_pads_refuse_an_empty_key_and_check_suffix_the_suffix() -> None:
    from convoc.codes import check_suffix, hmac_pads

    with pytest.raises(ValueError, match="empty"):
        hmac_pads(b"")
    assert check_suffix(None) is None and check_suffix("T") == "T"
    with pytest.raises(ValueError, match="suffix"):
        check_suffix("t")
