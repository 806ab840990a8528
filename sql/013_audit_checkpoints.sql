-- Signed checkpoints of the audit trail, so that a rewrite by someone who can switch the guards
-- of 009_audit.sql off (a superuser recomputing every hash with tps_event_digest) is still found:
-- `rekap audit checkpoint` signs, with a key kept outside the database, a digest of every TPS
-- chain's head as of a boundary, and publishes it; `rekap audit verify --against` recomputes
-- that digest from the database later. A rewritten event before the boundary changes its
-- chain's head there, which no one without the key can sign again (service/audit/anchor.py).
--
-- The boundary is a number each event takes when it is written (seq), under a shared advisory
-- lock held until its transaction ends. The checkpoint takes that lock exclusively for a moment:
-- then every seq handed out so far is committed or rolled back, and every later one is larger.
-- So "the events with seq <= S" never changes afterwards, whatever commits later. (An identity
-- id would not do: it is handed out before the lock, and ids commit out of order.) Events
-- written before this migration have no seq and lie before every boundary.

ALTER TABLE tps_result_event ADD COLUMN seq bigint;
CREATE SEQUENCE tps_result_event_seq;

CREATE OR REPLACE FUNCTION tps_event_chain() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_advisory_xact_lock_shared(1919249249, 1969514868);  -- 'reka', 'udit'
    NEW.seq := nextval('tps_result_event_seq');
    SELECT e.hash INTO NEW.prev_hash FROM tps_result_event e
    WHERE e.tps_code = NEW.tps_code AND e.ballot = NEW.ballot ORDER BY e.id DESC LIMIT 1;
    NEW.hash := tps_event_digest(NEW.prev_hash, NEW.tps_code, NEW.ballot, NEW.at, NEW.actor_user,
                                 NEW.actor_system, NEW.from_state, NEW.to_state, NEW.numbers_before,
                                 NEW.numbers_after, NEW.reason);
    UPDATE tps_result SET audit_head = NEW.hash WHERE tps_code = NEW.tps_code AND ballot = NEW.ballot;
    RETURN NEW;
END $$;

-- The checkpoints as signed (the exact JSON document), for the public API to serve. Copies
-- outside the database are what count: the auditor's log file and whoever downloads them.
CREATE TABLE audit_checkpoint (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    made_at    timestamptz NOT NULL,
    seq        bigint NOT NULL CHECK (seq >= 0),
    document   text NOT NULL
);

CREATE TRIGGER audit_checkpoint_append_only BEFORE UPDATE OR DELETE ON audit_checkpoint
    FOR EACH ROW EXECUTE FUNCTION append_only();
CREATE TRIGGER audit_checkpoint_no_truncate BEFORE TRUNCATE ON audit_checkpoint
    FOR EACH STATEMENT EXECUTE FUNCTION append_only();

-- The service's role (012_least_privilege.sql): the new sequence for its events, and the
-- checkpoints to read and add to, never to change.
GRANT USAGE, SELECT ON SEQUENCE tps_result_event_seq TO rekap_app;
GRANT SELECT, INSERT ON audit_checkpoint TO rekap_app;
REVOKE UPDATE, DELETE ON audit_checkpoint FROM rekap_app;
