-- What the public may see changes only when recap deltas are applied, and they are applied by
-- one transaction at a time (an advisory lock), each appending one row here with the next
-- version and the TPS it changed. Versions therefore become visible in order: a reader that
-- has seen version N has seen every change up to N, which makes versions safe as cache keys,
-- as names of immutable documents and as the cursor of the live feed. (Identity values of
-- concurrent transactions can commit out of order; these cannot.)

ALTER TABLE recap_delta ADD COLUMN tps_code text COLLATE "C";

CREATE TABLE public_change (
    version bigint PRIMARY KEY,
    at      timestamptz NOT NULL DEFAULT now(),
    tps     text[] COLLATE "C"
    -- NULL: everything may have changed (a rebuild of the totals)
);
