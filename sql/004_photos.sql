-- Photos of C.Hasil pages uploaded by KPPS officers, what the OCR core read from them, and the
-- pages of one TPS decoded together.
--
-- A photo row is written once, when its bytes are durable in content-addressed storage; the
-- same bytes sent again for the same TPS and ballot are the same row (retries are idempotent).
-- A new photo of a page is a new row: nothing is overwritten, the history is the rows in order.
-- The states and their transitions are defined in service/photos/states.py.

CREATE TABLE photo (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tps_code    text COLLATE "C" NOT NULL REFERENCES tps (code),
    ballot      text NOT NULL CHECK (ballot IN ('ppwp', 'dpr', 'dpd', 'dprd_provinsi', 'dprd_kabkota')),
    sha256      text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    media_type  text NOT NULL CHECK (media_type IN ('image/jpeg', 'image/png', 'image/webp')),
    size_bytes  integer NOT NULL CHECK (size_bytes > 0),
    width       integer NOT NULL CHECK (width > 0),
    height      integer NOT NULL CHECK (height > 0),
    -- The page the officer said it is (1-3), if any; the reader's own finding is in photo_reading.
    page_hint   smallint CHECK (page_hint BETWEEN 1 AND 3),
    uploaded_by bigint NOT NULL REFERENCES app_user (id),
    uploaded_at timestamptz NOT NULL DEFAULT now(),
    state       text NOT NULL DEFAULT 'received'
                CHECK (state IN ('received', 'reading', 'read', 'retake', 'failed')),
    state_at    timestamptz NOT NULL DEFAULT now(),
    -- When it was last put on the OCR queue; the sweep puts back what waited too long.
    queued_at   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (tps_code, ballot, sha256)
);
CREATE INDEX photo_tps_idx ON photo (tps_code, ballot, uploaded_at);
CREATE INDEX photo_sha256_idx ON photo (sha256);
CREATE INDEX photo_pending_idx ON photo (queued_at) WHERE state IN ('received', 'reading');

-- The raw reading of a photo: stored once and never updated (a job that runs twice finds it
-- there and leaves it). Corrections and reviews are separate rows that point at it.
CREATE TABLE photo_reading (
    photo_id       bigint PRIMARY KEY REFERENCES photo (id),
    outcome        text NOT NULL CHECK (outcome IN ('page', 'rejected', 'failed')),
    page           smallint CHECK (page BETWEEN 1 AND 3),
    retake_reason  text,
    reading        jsonb NOT NULL,
    reader_version text NOT NULL,
    ms             real NOT NULL CHECK (ms >= 0),
    read_at        timestamptz NOT NULL DEFAULT now(),
    CHECK ((outcome = 'page') = (page IS NOT NULL)),
    CHECK ((outcome = 'page') = (retake_reason IS NULL))
);

-- The current pages of a TPS decoded together (ocr.decode): one row per set of photos.
CREATE TABLE tps_decoding (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tps_code     text COLLATE "C" NOT NULL REFERENCES tps (code),
    ballot       text NOT NULL,
    photo_ids    bigint[] NOT NULL,
    decoding     jsonb NOT NULL,
    consistent   boolean NOT NULL,
    all_accepted boolean NOT NULL,
    decoded_at   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (tps_code, ballot, photo_ids)
);
CREATE INDEX tps_decoding_latest_idx ON tps_decoding (tps_code, ballot, id DESC);
