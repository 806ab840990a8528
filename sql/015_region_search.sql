-- Finding a desa or kecamatan by a part of its name (the public site's search): trigram index on
-- the lower-cased name, so that "tunggal" finds CATURTUNGGAL without reading every region.
-- pg_trgm ships with PostgreSQL (contrib) and is a trusted extension: the database's owner may
-- create it.

CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX region_name_trgm_idx ON region USING gin (lower(name) gin_trgm_ops);
