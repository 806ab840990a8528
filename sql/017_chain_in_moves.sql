-- The hash chain computed once, by the function that writes a TPS's change (issue 20).
--
-- 016's tps_result_moves computed each event's hash ahead (for the row's audit head) and the
-- chain trigger of 009/013 computed it again for every event, with a lookup of the previous
-- event each time: two digests and a trigger call per event, four events per publication, a
-- quarter of PostgreSQL's time on election night. Now the function chains the events itself,
-- from the newest stored event of the TPS, under the TPS's lock, and writes their seq (under
-- the checkpoint's shared lock, as 013 requires), prev_hash and hash with them.
--
-- So that the chain still holds whoever writes, the service's role may no longer INSERT events
-- directly: the function is SECURITY DEFINER (it runs as the tables' owner, with a fixed
-- search_path) and is the only way rekap_app adds to the audit trail. The row trigger stays
-- for events written without a hash (the owner by hand, an old code path): it chains them and
-- moves the row's audit head as before. The owner and superusers could write a wrong hash, as
-- they could switch the guards off before: `rekap audit verify` recomputes every hash, and
-- the signed checkpoints of 013 show any rewrite of what was signed.
--
-- Its statements get generic plans (plan_cache_mode): each call re-planned its INSERT of the
-- events, whose row count depends on the arguments, which cost more than running it.

REVOKE INSERT ON tps_result_event FROM rekap_app;

DROP TRIGGER tps_result_event_heads ON tps_result_event;
DROP FUNCTION tps_event_heads();

CREATE OR REPLACE FUNCTION tps_event_chain() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_advisory_xact_lock_shared(1919249249, 1969514868);  -- 'reka', 'udit' (013)
    NEW.seq := nextval('tps_result_event_seq');
    SELECT e.hash INTO NEW.prev_hash FROM tps_result_event e
    WHERE e.tps_code = NEW.tps_code AND e.ballot = NEW.ballot ORDER BY e.id DESC LIMIT 1;
    NEW.hash := tps_event_digest(NEW.prev_hash, NEW.tps_code, NEW.ballot, NEW.at, NEW.actor_user,
                                 NEW.actor_system, NEW.from_state, NEW.to_state, NEW.numbers_before,
                                 NEW.numbers_after, NEW.reason);
    UPDATE tps_result SET audit_head = NEW.hash WHERE tps_code = NEW.tps_code AND ballot = NEW.ballot;
    RETURN NEW;
END $$;

DROP TRIGGER tps_result_event_chain ON tps_result_event;
CREATE TRIGGER tps_result_event_chain BEFORE INSERT ON tps_result_event
    FOR EACH ROW WHEN (NEW.hash IS NULL) EXECUTE FUNCTION tps_event_chain();

CREATE OR REPLACE FUNCTION tps_result_moves(
    p_tps text, p_ballot text, p_version integer, p_states text[], p_reasons text[],
    p_actor_users bigint[], p_actor_systems text[], p_numbers jsonb, p_findings jsonb,
    p_decoding_id bigint, p_delta bigint[]
) RETURNS TABLE (
    tps_code text, ballot text, state text, numbers text, findings text, version integer,
    updated_at timestamptz
) LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp
  SET plan_cache_mode = force_generic_plan AS $$
#variable_conflict use_column
DECLARE
    old_state text;
    old_numbers jsonb;
    old_version integer;
    head bytea;
    moves integer := cardinality(p_states);
    prevs bytea[];
    hashes bytea[];
    result record;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtextextended('tps_result:' || p_tps, 0));
    SELECT r.state, r.numbers, r.version INTO old_state, old_numbers, old_version
    FROM tps_result r WHERE r.tps_code = p_tps AND r.ballot = p_ballot FOR UPDATE;
    IF coalesce(old_version, 0) <> p_version THEN
        RETURN;
    END IF;
    -- The chain goes on from the newest event actually stored, not from the row's head.
    SELECT e.hash INTO head FROM tps_result_event e
    WHERE e.tps_code = p_tps AND e.ballot = p_ballot ORDER BY e.id DESC LIMIT 1;
    FOR i IN 1 .. moves LOOP
        prevs[i] := head;
        head := tps_event_digest(head, p_tps, p_ballot, now(), p_actor_users[i], p_actor_systems[i],
                                 CASE WHEN i = 1 THEN old_state ELSE p_states[i - 1] END, p_states[i],
                                 CASE WHEN i = 1 THEN old_numbers ELSE p_numbers END, p_numbers,
                                 p_reasons[i]);
        hashes[i] := head;
    END LOOP;
    INSERT INTO tps_result AS r (tps_code, ballot, state, numbers, findings, decoding_id, version, audit_head)
    VALUES (p_tps, p_ballot, p_states[moves], p_numbers, p_findings, p_decoding_id, moves, head)
    ON CONFLICT ON CONSTRAINT tps_result_pkey DO UPDATE
        SET state = EXCLUDED.state, numbers = EXCLUDED.numbers, findings = EXCLUDED.findings,
            decoding_id = coalesce(EXCLUDED.decoding_id, r.decoding_id),
            version = r.version + moves, updated_at = now(), audit_head = EXCLUDED.audit_head
    RETURNING r.tps_code, r.ballot, r.state, r.numbers::text, r.findings::text, r.version, r.updated_at
    INTO result;
    PERFORM pg_advisory_xact_lock_shared(1919249249, 1969514868);  -- 'reka', 'udit' (013)
    INSERT INTO tps_result_event (tps_code, ballot, at, actor_user, actor_system, from_state, to_state,
                                  numbers_before, numbers_after, reason, seq, prev_hash, hash)
    SELECT p_tps, p_ballot, now(), p_actor_users[i], p_actor_systems[i],
           CASE WHEN i = 1 THEN old_state ELSE p_states[i - 1] END, p_states[i],
           CASE WHEN i = 1 THEN old_numbers ELSE p_numbers END, p_numbers, p_reasons[i],
           nextval('tps_result_event_seq'), prevs[i], hashes[i]
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
