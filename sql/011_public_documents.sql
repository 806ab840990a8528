-- What every public document needs, kept cheap to read with the national registry loaded.

-- How many TPS each region has ('' is the nation): every public document states its progress as
-- TPS published out of TPS expected, and counting 823,000 TPS for the nation took 350 ms on each
-- rebuild of its document. The registry barely changes, so the counts are kept here by triggers
-- on tps, whoever writes it (the registry import, a test, a benchmark). tps is never truncated:
-- the results and their append-only audit trail refer to it.

CREATE TABLE region_tps_count (
    code text COLLATE "C" PRIMARY KEY,
    tps  integer NOT NULL CHECK (tps >= 0)
);
-- A region's children are the codes under its own of the next level's length.
CREATE INDEX region_tps_count_children_idx ON region_tps_count (length(code), code);

-- The prefixes of a TPS code that name the regions above it: nation, provinsi, kab/kota,
-- kecamatan, desa.
CREATE FUNCTION region_prefixes(tps_code text) RETURNS SETOF text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT left(tps_code, n) FROM unnest(ARRAY[0, 2, 4, 6, 10]) AS n
$$;

INSERT INTO region_tps_count (code, tps)
SELECT p, count(*) FROM tps, region_prefixes(tps.code) AS p GROUP BY p;

CREATE FUNCTION tps_counted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO region_tps_count AS c (code, tps)
        SELECT p, count(*) FROM new_tps, region_prefixes(new_tps.code) AS p GROUP BY p
        ON CONFLICT (code) DO UPDATE SET tps = c.tps + EXCLUDED.tps;
    ELSE
        UPDATE region_tps_count AS c SET tps = c.tps - d.n
        FROM (SELECT p, count(*) AS n FROM old_tps, region_prefixes(old_tps.code) AS p GROUP BY p) AS d
        WHERE c.code = d.p;
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER tps_counted_insert AFTER INSERT ON tps
    REFERENCING NEW TABLE AS new_tps FOR EACH STATEMENT EXECUTE FUNCTION tps_counted();
CREATE TRIGGER tps_counted_delete AFTER DELETE ON tps
    REFERENCING OLD TABLE AS old_tps FOR EACH STATEMENT EXECUTE FUNCTION tps_counted();

-- A region's children of one level, by code prefix: a seq scan of 92,000 regions before (15 ms).
CREATE INDEX region_level_code_idx ON region (level, code);
