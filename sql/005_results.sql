-- The numbers of each TPS (one row per TPS and ballot), their state, and every change to them;
-- regional totals kept up to date from a log of deltas.
--
-- States and transitions are defined in service/results/states.py; only 'published' numbers
-- count in region_total's vote columns. Writers never touch a region row: each change to a
-- TPS appends its delta to recap_delta in the same transaction, and one set-based statement
-- moves batches of deltas into region_total (deleting them as it applies them, so a delta is
-- applied exactly once). Provinces and the nation are summed from kabupaten/kota rows at read
-- time, so there are no hot rows.

CREATE TABLE tps_result (
    tps_code    text COLLATE "C" NOT NULL REFERENCES tps (code),
    ballot      text NOT NULL,
    state       text NOT NULL
                CHECK (state IN ('received', 'read', 'verified', 'needs_review', 'reviewed', 'published')),
    numbers     jsonb NOT NULL DEFAULT '{}',
    findings    jsonb NOT NULL DEFAULT '[]',
    decoding_id bigint REFERENCES tps_decoding (id),
    version     integer NOT NULL DEFAULT 1,
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tps_code, ballot)
);

-- Append-only history: who or what moved the TPS or changed a number, and why.
CREATE TABLE tps_result_event (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tps_code       text COLLATE "C" NOT NULL,
    ballot         text NOT NULL,
    at             timestamptz NOT NULL DEFAULT now(),
    actor_user     bigint REFERENCES app_user (id),
    actor_system   text,
    from_state     text,
    to_state       text NOT NULL,
    numbers_before jsonb,
    numbers_after  jsonb NOT NULL,
    reason         text NOT NULL CHECK (reason <> ''),
    CHECK ((actor_user IS NULL) <> (actor_system IS NULL)),
    FOREIGN KEY (tps_code, ballot) REFERENCES tps_result (tps_code, ballot)
);
CREATE INDEX tps_result_event_tps_idx ON tps_result_event (tps_code, ballot, id);

CREATE TABLE recap_delta (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    desa_code        text COLLATE "C" NOT NULL,
    ballot           text NOT NULL,
    suara_paslon_1   bigint NOT NULL,
    suara_paslon_2   bigint NOT NULL,
    suara_paslon_3   bigint NOT NULL,
    suara_sah        bigint NOT NULL,
    suara_tidak_sah  bigint NOT NULL,
    suara_total      bigint NOT NULL,
    pemilih_dpt_j    bigint NOT NULL,
    pengguna_total_j bigint NOT NULL,
    tps_received     integer NOT NULL,
    tps_verified     integer NOT NULL,
    tps_needs_review integer NOT NULL,
    tps_reviewed     integer NOT NULL,
    tps_published    integer NOT NULL
);

-- Totals of desa, kecamatan and kabupaten/kota rows (level 4, 3, 2).
CREATE TABLE region_total (
    region_code      text COLLATE "C" NOT NULL REFERENCES region (code),
    ballot           text NOT NULL,
    level            smallint NOT NULL CHECK (level BETWEEN 2 AND 4),
    suara_paslon_1   bigint NOT NULL DEFAULT 0,
    suara_paslon_2   bigint NOT NULL DEFAULT 0,
    suara_paslon_3   bigint NOT NULL DEFAULT 0,
    suara_sah        bigint NOT NULL DEFAULT 0,
    suara_tidak_sah  bigint NOT NULL DEFAULT 0,
    suara_total      bigint NOT NULL DEFAULT 0,
    pemilih_dpt_j    bigint NOT NULL DEFAULT 0,
    pengguna_total_j bigint NOT NULL DEFAULT 0,
    tps_received     integer NOT NULL DEFAULT 0,
    tps_verified     integer NOT NULL DEFAULT 0,
    tps_needs_review integer NOT NULL DEFAULT 0,
    tps_reviewed     integer NOT NULL DEFAULT 0,
    tps_published    integer NOT NULL DEFAULT 0,
    PRIMARY KEY (region_code, ballot)
);
CREATE INDEX region_total_level_idx ON region_total (ballot, level, region_code);
