-- Elections, their contests and what a voter can choose on each ballot.
-- Pemilu 2024 had five ballots per TPS: PPWP (president, national), DPR, DPRD provinsi and
-- DPRD kabupaten/kota (party lists per electoral district, "dapil"), and DPD (individuals per
-- province). One C.Hasil form per ballot and TPS.

CREATE TABLE election (
    id      text PRIMARY KEY CHECK (id ~ '^[a-z0-9-]+$'),
    name    text NOT NULL,
    held_on date NOT NULL
);

CREATE TABLE party (
    election_id  text NOT NULL REFERENCES election (id),
    number       smallint NOT NULL CHECK (number > 0),
    name         text NOT NULL,
    abbreviation text NOT NULL,
    PRIMARY KEY (election_id, number)
);

-- A dapil: the regions whose ballots of one kind carry the same candidates.
CREATE TABLE electoral_district (
    id          text PRIMARY KEY,
    election_id text NOT NULL REFERENCES election (id),
    kind        text NOT NULL CHECK (kind IN ('dpr', 'dpd', 'dprd_provinsi', 'dprd_kabkota')),
    name        text NOT NULL,
    seats       smallint NOT NULL CHECK (seats > 0)
);

CREATE TABLE electoral_district_region (
    district_id text NOT NULL REFERENCES electoral_district (id),
    region_code text COLLATE "C" NOT NULL REFERENCES region (code),
    PRIMARY KEY (district_id, region_code)
);

CREATE TABLE contest (
    id          text PRIMARY KEY CHECK (id ~ '^[a-z0-9-]+$'),
    election_id text NOT NULL REFERENCES election (id),
    kind        text NOT NULL CHECK (kind IN ('ppwp', 'dpr', 'dpd', 'dprd_provinsi', 'dprd_kabkota')),
    district_id text REFERENCES electoral_district (id),
    name        text NOT NULL,
    form        text NOT NULL,
    CONSTRAINT contest_district CHECK ((kind = 'ppwp') = (district_id IS NULL))
);

-- One choice on a ballot: a presidential pair (paslon), a party (a vote for the list only),
-- a candidate on a party's list, or an individual DPD candidate.
CREATE TABLE candidate (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    contest_id    text NOT NULL REFERENCES contest (id),
    kind          text NOT NULL CHECK (kind IN ('paslon', 'party', 'party_candidate', 'individual')),
    election_id   text NOT NULL REFERENCES election (id),
    party_number  smallint,
    ballot_number smallint NOT NULL CHECK (ballot_number > 0),
    name          text NOT NULL,
    running_mate  text,
    kpu_id        bigint,
    FOREIGN KEY (election_id, party_number) REFERENCES party (election_id, number),
    CONSTRAINT candidate_party CHECK (
        (kind IN ('party', 'party_candidate')) = (party_number IS NOT NULL)
        AND (kind <> 'party' OR ballot_number = party_number)
    ),
    CONSTRAINT candidate_running_mate CHECK ((kind = 'paslon') = (running_mate IS NOT NULL)),
    UNIQUE NULLS NOT DISTINCT (contest_id, kind, party_number, ballot_number)
);

INSERT INTO election (id, name, held_on)
VALUES ('pemilu2024', 'Pemilihan Umum 2024', DATE '2024-02-14');

INSERT INTO contest (id, election_id, kind, name, form)
VALUES ('pemilu2024-ppwp', 'pemilu2024', 'ppwp',
        'Pemilihan Presiden dan Wakil Presiden 2024', 'C.HASIL-PPWP');

-- Ballot numbers and KPU's candidate ids as in Sirekap's public JSON (chart keys).
INSERT INTO candidate (contest_id, election_id, kind, ballot_number, name, running_mate, kpu_id)
VALUES
    ('pemilu2024-ppwp', 'pemilu2024', 'paslon', 1,
     'H. Anies Rasyid Baswedan, Ph.D.', 'Dr. (H.C.) H. A. Muhaimin Iskandar', 100025),
    ('pemilu2024-ppwp', 'pemilu2024', 'paslon', 2,
     'H. Prabowo Subianto', 'Gibran Rakabuming Raka', 100026),
    ('pemilu2024-ppwp', 'pemilu2024', 'paslon', 3,
     'H. Ganjar Pranowo, S.H., M.I.P.', 'Prof. Dr. H. M. Mahfud MD, S.H., S.U., M.I.P.', 100027);
