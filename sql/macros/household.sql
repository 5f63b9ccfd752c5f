-- What one household is, defined once for every SQL file that needs it (the testing sample spreads a
-- household's members over weeks, a household mailing sends an address one envelope naming its residents).
-- Temporary macro, like those of age.sql (convoc.warehouse.create_macros).

-- household_key(street, house_number, postcode): the address a household shares; a missing house number is
-- the same as an empty one.
create or replace temp macro household_key(street, house_number, postcode) as
    street || '|' || coalesce(house_number, '') || '|' || postcode;
