-- A TPS's change in one round trip (service/results/store.py ``apply``): its row, one event per
-- state it passes through (the hash chain of 009/013 unchanged: the trigger still chains each)
-- and one delta for the totals, in one statement's transaction. The TPS's audit head is set
-- once per statement of events instead of once per event (the UPDATE of every event was a
-- fifth of the writers' time in PostgreSQL): each event's hash is computed as before, and a
-- statement-level trigger stores the newest one. A clear reading used to take
-- four transactions of six statements each from decoded to published; on election night that
-- was the writers' whole cost (issue 20).
--
-- The caller computes the moves (the state table lives in service/results/states.py) and the
-- delta from the row it read, and says which version that was. Under the TPS's lock the row is
-- read again: a different version means someone changed the TPS in between, nothing is
-- written and no row is returned, and the caller reads again. So a delta is always computed
-- from the row it replaces, as when the caller held the lock throughout.

CREATE FUNCTION tps_result_moves(
    p_tps text, p_ballot text, p_version integer, p_states text[], p_reasons text[],
    p_actor_users bigint[], p_actor_systems text[], p_numbers jsonb, p_findings jsonb,
    p_decoding_id bigint, p_delta bigint[]
) RETURNS TABLE (
    tps_code text, ballot text, state text, numbers text, findings text, version integer,
    updated_at timestamptz
) LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    old_state text;
    old_numbers jsonb;
    old_version integer;
    head bytea;
    moves integer := cardinality(p_states);
    result record;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtextextended('tps_result:' || p_tps, 0));
    SELECT r.state, r.numbers, r.version, r.audit_head INTO old_state, old_numbers, old_version, head
    FROM tps_result r WHERE r.tps_code = p_tps AND r.ballot = p_ballot FOR UPDATE;
    IF coalesce(old_version, 0) <> p_version THEN
        RETURN;
    END IF;
    -- The head the events below will end on, so that the row is written once: the trigger
    -- computes each hash again from the stored chain, and corrects the head if they differ.
    FOR i IN 1 .. moves LOOP
        head := tps_event_digest(head, p_tps, p_ballot, now(), p_actor_users[i], p_actor_systems[i],
                                 CASE WHEN i = 1 THEN old_state ELSE p_states[i - 1] END, p_states[i],
                                 CASE WHEN i = 1 THEN old_numbers ELSE p_numbers END, p_numbers,
                                 p_reasons[i]);
    END LOOP;
    INSERT INTO tps_result AS r (tps_code, ballot, state, numbers, findings, decoding_id, version, audit_head)
    VALUES (p_tps, p_ballot, p_states[moves], p_numbers, p_findings, p_decoding_id, moves, head)
    ON CONFLICT ON CONSTRAINT tps_result_pkey DO UPDATE
        SET state = EXCLUDED.state, numbers = EXCLUDED.numbers, findings = EXCLUDED.findings,
            decoding_id = coalesce(EXCLUDED.decoding_id, r.decoding_id),
            version = r.version + moves, updated_at = now(), audit_head = EXCLUDED.audit_head
    RETURNING r.tps_code, r.ballot, r.state, r.numbers::text, r.findings::text, r.version, r.updated_at
    INTO result;
    -- One statement for every event: each row is chained by the trigger to the one before it
    -- (a BEFORE trigger sees the rows its statement wrote earlier).
    INSERT INTO tps_result_event (tps_code, ballot, actor_user, actor_system, from_state, to_state,
                                  numbers_before, numbers_after, reason)
    SELECT p_tps, p_ballot, p_actor_users[i], p_actor_systems[i],
           CASE WHEN i = 1 THEN old_state ELSE p_states[i - 1] END, p_states[i],
           CASE WHEN i = 1 THEN old_numbers ELSE p_numbers END, p_numbers, p_reasons[i]
    FROM generate_series(1, moves) AS i ORDER BY i;
    -- Also when nothing counted changed: applying it is what announces the TPS's new state.
    INSERT INTO recap_delta (tps_code, desa_code, ballot, suara_paslon_1, suara_paslon_2, suara_paslon_3,
                             suara_sah, suara_tidak_sah, suara_total, pemilih_dpt_j, pengguna_total_j,
                             tps_received, tps_verified, tps_needs_review, tps_reviewed, tps_published)
    VALUES (p_tps, left(p_tps, 10), p_ballot, p_delta[1], p_delta[2], p_delta[3], p_delta[4], p_delta[5],
            p_delta[6], p_delta[7], p_delta[8], p_delta[9], p_delta[10], p_delta[11], p_delta[12],
            p_delta[13]);
    tps_code := result.tps_code; ballot := result.ballot; state := result.state;
    numbers := result.numbers; findings := result.findings; version := result.version;
    updated_at := result.updated_at;
    RETURN NEXT;
END $$;

CREATE OR REPLACE FUNCTION tps_event_chain() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_advisory_xact_lock_shared(1919249249, 1969514868);  -- 'reka', 'udit' (013)
    NEW.seq := nextval('tps_result_event_seq');
    SELECT e.hash INTO NEW.prev_hash FROM tps_result_event e
    WHERE e.tps_code = NEW.tps_code AND e.ballot = NEW.ballot ORDER BY e.id DESC LIMIT 1;
    NEW.hash := tps_event_digest(NEW.prev_hash, NEW.tps_code, NEW.ballot, NEW.at, NEW.actor_user,
                                 NEW.actor_system, NEW.from_state, NEW.to_state, NEW.numbers_before,
                                 NEW.numbers_after, NEW.reason);
    RETURN NEW;
END $$;

CREATE FUNCTION tps_event_heads() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    head record;
BEGIN
    -- Row by row through the primary key: a join with the transition table (which has no
    -- statistics) was planned as a scan of every TPS.
    FOR head IN SELECT DISTINCT ON (e.tps_code, e.ballot) e.tps_code, e.ballot, e.hash FROM new_events e
                ORDER BY e.tps_code, e.ballot, e.id DESC LOOP
        UPDATE tps_result r SET audit_head = head.hash
        WHERE r.tps_code = head.tps_code AND r.ballot = head.ballot
          AND r.audit_head IS DISTINCT FROM head.hash;
    END LOOP;
    RETURN NULL;
END $$;

CREATE TRIGGER tps_result_event_heads AFTER INSERT ON tps_result_event
    REFERENCING NEW TABLE AS new_events FOR EACH STATEMENT EXECUTE FUNCTION tps_event_heads();
