-- A new reading of a TPS whose numbers are published, signed off or corrected and waiting for a
-- second officer changes nothing of them: it waits here, beside them, until an officer takes it
-- (the TPS goes back to review with the new numbers) or sets it aside. One open reading per TPS:
-- a later photo replaces the one waiting. Decided rows stay as their history.

CREATE TABLE new_reading (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tps_code        text COLLATE "C" NOT NULL,
    ballot          text NOT NULL,
    decoding_id     bigint NOT NULL REFERENCES tps_decoding (id),
    numbers         jsonb NOT NULL,
    read_at         timestamptz NOT NULL DEFAULT now(),
    decided_by      bigint REFERENCES app_user (id),
    decided_at      timestamptz,
    adopted         boolean,
    decision_reason text,
    FOREIGN KEY (tps_code, ballot) REFERENCES tps_result (tps_code, ballot),
    CONSTRAINT new_reading_decided CHECK ((decided_by IS NULL) = (decided_at IS NULL)
                                          AND (decided_by IS NULL) = (adopted IS NULL))
);
CREATE UNIQUE INDEX new_reading_open_idx ON new_reading (tps_code, ballot) WHERE decided_at IS NULL;

-- A KPPS who sees a number read wrong on their phone says so ("angka ini salah"): the report
-- reaches the officers with the field, and stays open until an officer acts on the TPS.
CREATE TABLE kpps_flag (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tps_code     text COLLATE "C" NOT NULL REFERENCES tps (code),
    ballot       text NOT NULL,
    field        text NOT NULL,
    note         text NOT NULL DEFAULT '',
    flagged_by   bigint NOT NULL REFERENCES app_user (id),
    flagged_at   timestamptz NOT NULL DEFAULT now(),
    closed_by    bigint REFERENCES app_user (id),
    closed_at    timestamptz,
    close_reason text,
    CONSTRAINT kpps_flag_closed CHECK ((closed_by IS NULL) = (closed_at IS NULL))
);
CREATE UNIQUE INDEX kpps_flag_open_idx ON kpps_flag (tps_code, ballot, field) WHERE closed_at IS NULL;
