-- Review by recap officers: a claim keeps two officers off the same TPS for a while; a
-- correction that changes a number waits for a second officer (four eyes: never the one who
-- proposed it, enforced here too); a retake request tells the KPPS which page to photograph
-- again and why.

CREATE TABLE review_claim (
    tps_code   text COLLATE "C" NOT NULL,
    ballot     text NOT NULL,
    officer_id bigint NOT NULL REFERENCES app_user (id),
    claimed_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    PRIMARY KEY (tps_code, ballot),
    FOREIGN KEY (tps_code, ballot) REFERENCES tps_result (tps_code, ballot)
);

CREATE TABLE correction (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tps_code        text COLLATE "C" NOT NULL,
    ballot          text NOT NULL,
    proposed_by     bigint NOT NULL REFERENCES app_user (id),
    proposed_at     timestamptz NOT NULL DEFAULT now(),
    numbers_before  jsonb NOT NULL,
    numbers_after   jsonb NOT NULL,
    reason          text NOT NULL CHECK (reason <> ''),
    decided_by      bigint REFERENCES app_user (id),
    decided_at      timestamptz,
    approved        boolean,
    decision_reason text,
    FOREIGN KEY (tps_code, ballot) REFERENCES tps_result (tps_code, ballot),
    CONSTRAINT correction_four_eyes CHECK (decided_by IS NULL OR decided_by <> proposed_by),
    CONSTRAINT correction_decided CHECK ((decided_by IS NULL) = (decided_at IS NULL)
                                         AND (decided_by IS NULL) = (approved IS NULL))
);
CREATE UNIQUE INDEX correction_open_idx ON correction (tps_code, ballot) WHERE decided_at IS NULL;

CREATE TABLE retake_request (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tps_code     text COLLATE "C" NOT NULL REFERENCES tps (code),
    ballot       text NOT NULL,
    page         smallint NOT NULL CHECK (page BETWEEN 1 AND 3),
    officer_id   bigint NOT NULL REFERENCES app_user (id),
    reason       text NOT NULL CHECK (reason <> ''),
    requested_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX retake_request_tps_idx ON retake_request (tps_code, ballot, page, requested_at);
