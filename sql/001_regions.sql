-- Indonesia's administrative hierarchy as KPU codes it for Pemilu 2024:
-- provinsi (2 digits) -> kabupaten/kota (4) -> kecamatan (6) -> desa/kelurahan (10) -> TPS (13).
-- KPU's codes are Kemendagri's without dots but differ in places; a child's code always starts
-- with its parent's, which lets every subtree be selected by prefix (hence COLLATE "C").

CREATE TABLE region (
    code        text COLLATE "C" PRIMARY KEY,
    level       smallint NOT NULL CHECK (level BETWEEN 1 AND 4),
    name        text NOT NULL CHECK (name <> ''),
    parent_code text COLLATE "C" REFERENCES region (code),
    kpu_id      bigint,
    source      text NOT NULL CHECK (source IN ('kpu', 'kemendagri')),
    -- Domestic codes are digits; KPU's overseas codes (under 99) also use capitals ("99AA").
    CONSTRAINT region_code_shape CHECK (
        (code ~ '^[0-9]+$' OR code ~ '^99[0-9A-Z]+$') AND length(code) = (ARRAY[2, 4, 6, 10])[level]
    ),
    CONSTRAINT region_parent_shape CHECK (
        (level = 1 AND parent_code IS NULL)
        OR (level > 1 AND length(parent_code) = (ARRAY[2, 4, 6, 10])[level - 1]
            AND left(code, length(parent_code)) = parent_code)
    ),
    UNIQUE (code, level)
);
CREATE INDEX region_parent_idx ON region (parent_code);

CREATE TABLE tps (
    code          text COLLATE "C" PRIMARY KEY CHECK (code ~ '^[0-9]{13}$' OR code ~ '^99[0-9A-Z]{11}$'),
    desa_code     text COLLATE "C" NOT NULL REFERENCES region (code),
    -- The code's last three digits; KPU's name ("TPS 001", abroad also "KSK 001", "POS 001")
    -- does not always carry the same number.
    number        smallint GENERATED ALWAYS AS (right(code, 3)::smallint) STORED,
    name          text NOT NULL CHECK (name <> ''),
    kpu_id        bigint,
    -- Registered voters (DPT) by sex; NULL until imported. Synthetic values (for benchmarks on
    -- regions without published data) are marked so they are never taken for real ones.
    dpt_l         integer CHECK (dpt_l >= 0),
    dpt_p         integer CHECK (dpt_p >= 0),
    dpt_j         integer CHECK (dpt_j >= 0),
    dpt_synthetic boolean NOT NULL DEFAULT false,
    CONSTRAINT tps_in_desa CHECK (left(code, 10) = desa_code),
    CONSTRAINT tps_dpt_complete CHECK (
        (dpt_l IS NULL AND dpt_p IS NULL AND dpt_j IS NULL AND NOT dpt_synthetic)
        OR (dpt_l IS NOT NULL AND dpt_p IS NOT NULL AND dpt_j = dpt_l + dpt_p)
    )
);
CREATE INDEX tps_desa_idx ON tps (desa_code);
