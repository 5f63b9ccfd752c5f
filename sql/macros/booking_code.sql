-- Booking codes made where the wave is: the same code as convoc.codes.make_code, for every invitation of a wave
-- in one statement (python-stdnum and HMAC one id at a time cost 13 µs a code: 85 s for 6.5 M letters).
-- Temporary macros, like those of age.sql (convoc.warehouse.create_macros). tests/unit/test_codes.py holds them
-- to make_code for any invitation id, key and suffix.
--
-- The signing key never enters SQL: the caller passes HMAC's two padded keys (RFC 2104,
-- convoc.codes.hmac_pads) as bound parameters, and HMAC-SHA256(key, id) = sha256(outer || sha256(inner || id)).

-- booking_code_bits(invitation_id, inner_pad, outer_pad): the first 55 bits of HMAC-SHA256(key, id).
create or replace temp macro booking_code_bits(invitation_id, inner_pad, outer_pad) as
    cast('0x' || left(sha256(outer_pad || unhex(sha256(inner_pad || encode(invitation_id)))), 14) as ubigint) >> 1;

-- booking_code_symbol(bits, i): body symbol i (0 … 10, most significant first) as its value 0 … 31.
create or replace temp macro booking_code_symbol(bits, i) as
    cast((bits >> (5 * (10 - i))) & 31 as integer);

-- booking_code_char(value): the symbol of Crockford's base32 (convoc.codes.ALPHABET) for a value 0 … 31.
create or replace temp macro booking_code_char(value) as
    substr('0123456789ABCDEFGHJKMNPQRSTVWXYZ', value + 1, 1);

-- booking_code_doubled(value): Luhn mod 32's doubling of a value (the sum of the two base-32 digits of 2 × value).
create or replace temp macro booking_code_doubled(value) as
    (2 * value) // 32 + (2 * value) % 32;

-- booking_code_check(bits): python-stdnum's luhn.calc_check_digit over the 11 symbols (alphabet of 32): counted
-- from the right with a zero appended, the last body symbol and every second one before it are doubled.
create or replace temp macro booking_code_check(bits) as
    (32 - (
        booking_code_doubled(booking_code_symbol(bits, 0)) + booking_code_symbol(bits, 1)
        + booking_code_doubled(booking_code_symbol(bits, 2)) + booking_code_symbol(bits, 3)
        + booking_code_doubled(booking_code_symbol(bits, 4)) + booking_code_symbol(bits, 5)
        + booking_code_doubled(booking_code_symbol(bits, 6)) + booking_code_symbol(bits, 7)
        + booking_code_doubled(booking_code_symbol(bits, 8)) + booking_code_symbol(bits, 9)
        + booking_code_doubled(booking_code_symbol(bits, 10))
    ) % 32) % 32;

-- booking_code(bits, suffix): the printed code XXXX-XXXX-XXXC, with -SUFFIX when suffix is not null. Pass the
-- bits as a column computed once (booking_code_bits in a subquery): a macro repeats its argument's expression.
create or replace temp macro booking_code(bits, suffix) as
    booking_code_char(booking_code_symbol(bits, 0)) || booking_code_char(booking_code_symbol(bits, 1))
    || booking_code_char(booking_code_symbol(bits, 2)) || booking_code_char(booking_code_symbol(bits, 3)) || '-'
    || booking_code_char(booking_code_symbol(bits, 4)) || booking_code_char(booking_code_symbol(bits, 5))
    || booking_code_char(booking_code_symbol(bits, 6)) || booking_code_char(booking_code_symbol(bits, 7)) || '-'
    || booking_code_char(booking_code_symbol(bits, 8)) || booking_code_char(booking_code_symbol(bits, 9))
    || booking_code_char(booking_code_symbol(bits, 10)) || booking_code_char(booking_code_check(bits))
    || coalesce('-' || cast(suffix as varchar), '');
