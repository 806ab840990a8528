-- The recap forms of each level (D.Hasil Kecamatan, Kabupaten/Kota, Provinsi, Nasional) as
-- recorded by recap officers: per child region and field, the number on the form. Append-only:
-- a correction is a newer row; the newest row of a (region, child, field) is the current one.
-- Each comparison with the sum of what lies under the child is kept in recap_discrepancy.

CREATE TABLE d_hasil (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    ballot      text NOT NULL,
    level       smallint NOT NULL CHECK (level BETWEEN 0 AND 3),
    region_code text COLLATE "C" NOT NULL,  -- '' for the nation
    child_code  text COLLATE "C" NOT NULL REFERENCES region (code),
    field       text NOT NULL,
    value       bigint NOT NULL CHECK (value >= 0),
    recorded_by bigint NOT NULL REFERENCES app_user (id),
    recorded_at timestamptz NOT NULL DEFAULT now(),
    CHECK (starts_with(child_code, region_code))
);
CREATE INDEX d_hasil_current_idx ON d_hasil (ballot, region_code, child_code, field, id DESC);

CREATE TABLE recap_discrepancy (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    d_hasil_id  bigint NOT NULL REFERENCES d_hasil (id),
    child_code  text COLLATE "C" NOT NULL,
    field       text NOT NULL,
    recorded    bigint NOT NULL,
    expected    bigint NOT NULL,
    -- The TPS under the child that explain it: not yet published, or held for review.
    tps         jsonb NOT NULL,
    found_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX recap_discrepancy_child_idx ON recap_discrepancy (child_code, id DESC);
