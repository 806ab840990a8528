-- People who act in rekap. A KPPS credential belongs to one TPS; a recap officer to one region
-- at one level (PPK: a kecamatan; KPU kabupaten/kota; KPU provinsi; KPU RI: the nation, level 0,
-- no region); administrators run the system. Secrets are stored as argon2id hashes only.

CREATE TABLE app_user (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    username     text NOT NULL UNIQUE CHECK (username ~ '^[a-z0-9][a-z0-9._-]{2,63}$'),
    display_name text NOT NULL,
    role         text NOT NULL CHECK (role IN ('kpps', 'officer', 'admin')),
    tps_code     text COLLATE "C" UNIQUE REFERENCES tps (code),
    scope_level  smallint CHECK (scope_level BETWEEN 0 AND 4),
    scope_region text COLLATE "C",
    secret_hash  text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    disabled_at  timestamptz,
    FOREIGN KEY (scope_region, scope_level) REFERENCES region (code, level),
    CONSTRAINT app_user_kpps_tps CHECK ((role = 'kpps') = (tps_code IS NOT NULL)),
    CONSTRAINT app_user_officer_scope CHECK (
        (role = 'officer') = (scope_level IS NOT NULL)
        AND (role <> 'officer' OR (scope_level = 0) = (scope_region IS NULL))
        AND (role = 'officer' OR scope_region IS NULL)
    )
);

-- Bearer tokens handed out at login; only their SHA-256 is kept.
CREATE TABLE session_token (
    token_hash bytea PRIMARY KEY,
    user_id    bigint NOT NULL REFERENCES app_user (id),
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL
);
CREATE INDEX session_token_user_idx ON session_token (user_id);
