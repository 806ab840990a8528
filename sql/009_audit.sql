-- The history of every TPS (tps_result_event) is the audit trail: every state change and every
-- value change, with who, when, before, after and why. It is append-only (UPDATE, DELETE and
-- TRUNCATE raise, whoever asks) and hash-chained per TPS and ballot: each event's hash covers
-- its content and the previous event's hash, and the TPS's row keeps the newest hash. Changing,
-- removing or inserting a row afterwards (possible only by switching the guards off) breaks a
-- link, which `rekap audit verify` reports. Events of one TPS are written under that TPS's lock,
-- so its chain has no forks; chains of different TPS never wait for each other.

ALTER TABLE tps_result_event ADD COLUMN prev_hash bytea, ADD COLUMN hash bytea;
ALTER TABLE tps_result ADD COLUMN audit_head bytea;

-- The bytes an event's hash covers: a JSON array of its fields (jsonb's text is canonical; the
-- time in UTC to the microsecond, whatever the session's time zone).
CREATE FUNCTION tps_event_digest(
    prev bytea, tps_code text, ballot text, at timestamptz, actor_user bigint, actor_system text,
    from_state text, to_state text, numbers_before jsonb, numbers_after jsonb, reason text
) RETURNS bytea LANGUAGE sql STABLE AS $$
    SELECT sha256(coalesce(prev, '\x'::bytea) || convert_to(jsonb_build_array(
        tps_code, ballot, to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US'), actor_user,
        actor_system, from_state, to_state, numbers_before, numbers_after, reason
    )::text, 'UTF8'))
$$;

CREATE FUNCTION tps_event_chain() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    SELECT e.hash INTO NEW.prev_hash FROM tps_result_event e
    WHERE e.tps_code = NEW.tps_code AND e.ballot = NEW.ballot ORDER BY e.id DESC LIMIT 1;
    NEW.hash := tps_event_digest(NEW.prev_hash, NEW.tps_code, NEW.ballot, NEW.at, NEW.actor_user,
                                 NEW.actor_system, NEW.from_state, NEW.to_state, NEW.numbers_before,
                                 NEW.numbers_after, NEW.reason);
    UPDATE tps_result SET audit_head = NEW.hash WHERE tps_code = NEW.tps_code AND ballot = NEW.ballot;
    RETURN NEW;
END $$;

CREATE TRIGGER tps_result_event_chain BEFORE INSERT ON tps_result_event
    FOR EACH ROW EXECUTE FUNCTION tps_event_chain();

CREATE FUNCTION append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit trail (%) is append-only: % is not allowed', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END $$;

CREATE TRIGGER tps_result_event_append_only BEFORE UPDATE OR DELETE ON tps_result_event
    FOR EACH ROW EXECUTE FUNCTION append_only();
CREATE TRIGGER tps_result_event_no_truncate BEFORE TRUNCATE ON tps_result_event
    FOR EACH STATEMENT EXECUTE FUNCTION append_only();

-- Events written before this migration start their chains now.
DO $$
DECLARE r record;
BEGIN
    ALTER TABLE tps_result_event DISABLE TRIGGER tps_result_event_append_only;
    FOR r IN SELECT * FROM tps_result_event ORDER BY tps_code, ballot, id LOOP
        UPDATE tps_result_event e SET
            prev_hash = (SELECT p.hash FROM tps_result_event p WHERE p.tps_code = r.tps_code
                         AND p.ballot = r.ballot AND p.id < r.id ORDER BY p.id DESC LIMIT 1)
        WHERE e.id = r.id;
        UPDATE tps_result_event e SET hash = tps_event_digest(e.prev_hash, e.tps_code, e.ballot, e.at,
            e.actor_user, e.actor_system, e.from_state, e.to_state, e.numbers_before, e.numbers_after,
            e.reason) WHERE e.id = r.id;
        UPDATE tps_result t SET audit_head = (SELECT hash FROM tps_result_event WHERE id = r.id)
        WHERE t.tps_code = r.tps_code AND t.ballot = r.ballot;
    END LOOP;
    ALTER TABLE tps_result_event ENABLE TRIGGER tps_result_event_append_only;
END $$;
ALTER TABLE tps_result_event ALTER COLUMN hash SET NOT NULL;
