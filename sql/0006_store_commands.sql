-- The store's two database entry points. Each runs as the calling role (ehc_app), so row-level
-- security applies, and binds the transaction to the command's authority first.
--
-- ehc_case_snapshot: a case's version, pinned definitions and events, for the machine to replay.
-- ehc_apply_batch: group commit. A JSON array of commands, each already checked by the machine in
-- C, is applied in one transaction and one round trip; each command runs in its own
-- subtransaction (a PL/pgSQL exception block) under its own authority, so one command's failure
-- (a stale version, a constraint) rolls back that command only. The result array says, per
-- command, what happened. The event row, the case projection, its deadlines, the alerts it
-- resolves and its SEN2 codes are written together or not at all.

ALTER TABLE cases ADD COLUMN open_idempotency_key text CHECK (length(open_idempotency_key) BETWEEN 1 AND 200);
CREATE UNIQUE INDEX cases_open_idempotency ON cases (authority_id, open_idempotency_key)
    WHERE open_idempotency_key IS NOT NULL;

-- p_idempotency_key: when the event with this key is already recorded, idempotent_seq says
-- where, and the store answers the retry with the first outcome without running the machine.
CREATE FUNCTION ehc_case_snapshot(p_authority_ids text, p_case_id bigint, p_idempotency_key text)
RETURNS TABLE (authority_id bigint, version integer, workflow_id text, workflow_sha256 text,
               calendar_sha256 text, status text, events jsonb, idempotent_seq integer)
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM set_config('ehc.authority_ids', p_authority_ids, true);
    RETURN QUERY
    SELECT c.authority_id, c.version, c.workflow_id, c.workflow_sha256, c.calendar_sha256, c.status,
           coalesce((SELECT jsonb_agg(jsonb_build_object(
                         'seq', e.seq, 'type', e.type, 'role', e.actor_role,
                         'effective_on', e.effective_on,
                         'recorded_on', (e.recorded_at AT TIME ZONE 'Europe/London')::date,
                         'fields', coalesce(e.payload -> 'fields', '{}'::jsonb),
                         'workflow_sha256', e.workflow_sha256) ORDER BY e.seq)
                     FROM case_events e WHERE e.case_id = c.id), '[]'::jsonb),
           (SELECT e.seq FROM case_events e
            WHERE e.case_id = c.id AND e.idempotency_key = p_idempotency_key)
    FROM cases c
    WHERE c.id = p_case_id;
END
$$;

CREATE FUNCTION ehc__apply_command(cmd jsonb) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    v_authority bigint := (cmd ->> 'authority_id')::bigint;
    v_case bigint;
    v_seq integer;
    v_existing integer;
    v_event jsonb := cmd -> 'event';
    v_proj jsonb := cmd -> 'projection';
BEGIN
    PERFORM set_config('ehc.authority_ids', cmd ->> 'authority_ids', true);

    IF cmd ->> 'kind' = 'open' THEN
        IF cmd ->> 'idempotency_key' IS NOT NULL THEN
            SELECT c.id INTO v_case FROM cases c
            WHERE c.authority_id = v_authority AND c.open_idempotency_key = cmd ->> 'idempotency_key';
            IF FOUND THEN
                RETURN jsonb_build_object('ok', true, 'case_id', v_case, 'seq', 1, 'replayed', true);
            END IF;
        END IF;
        INSERT INTO cases (authority_id, reference, child_id, workflow_id, workflow_sha256, calendar_sha256,
                           stage, status, team_id, officer_id, opened_on, closed_on, version, migrated,
                           open_idempotency_key)
        VALUES (v_authority, cmd -> 'case' ->> 'reference', (cmd -> 'case' ->> 'child_id')::bigint,
                cmd -> 'case' ->> 'workflow_id', cmd -> 'case' ->> 'workflow_sha256',
                cmd -> 'case' ->> 'calendar_sha256', v_proj ->> 'stage', v_proj ->> 'status',
                (cmd -> 'case' ->> 'team_id')::bigint, (cmd -> 'case' ->> 'officer_id')::bigint,
                (v_event ->> 'effective_on')::date, (v_proj ->> 'closed_on')::date, 1,
                coalesce((cmd -> 'case' ->> 'migrated')::boolean, false), cmd ->> 'idempotency_key')
        RETURNING id INTO v_case;
        v_seq := 1;
    ELSE
        v_case := (cmd ->> 'case_id')::bigint;
        IF v_event ->> 'idempotency_key' IS NOT NULL THEN
            SELECT e.seq INTO v_existing FROM case_events e
            WHERE e.case_id = v_case AND e.idempotency_key = v_event ->> 'idempotency_key';
            IF FOUND THEN
                RETURN jsonb_build_object('ok', true, 'case_id', v_case, 'seq', v_existing, 'replayed', true);
            END IF;
        END IF;
        v_seq := (cmd ->> 'expected_version')::integer + 1;
        -- the optimistic-concurrency check: a concurrent writer that committed first moved the
        -- version on, and this UPDATE (after waiting for its row lock) finds nothing
        UPDATE cases SET stage = v_proj ->> 'stage', status = v_proj ->> 'status',
                         closed_on = (v_proj ->> 'closed_on')::date, version = v_seq, updated_at = now()
        WHERE id = v_case AND version = v_seq - 1;
        IF NOT FOUND THEN
            -- a retry racing its own first attempt: that attempt won, so this one succeeded too
            IF v_event ->> 'idempotency_key' IS NOT NULL THEN
                SELECT e.seq INTO v_existing FROM case_events e
                WHERE e.case_id = v_case AND e.idempotency_key = v_event ->> 'idempotency_key';
                IF FOUND THEN
                    RETURN jsonb_build_object('ok', true, 'case_id', v_case, 'seq', v_existing, 'replayed', true);
                END IF;
            END IF;
            SELECT c.version INTO v_existing FROM cases c WHERE c.id = v_case;
            IF NOT FOUND THEN
                RETURN jsonb_build_object('ok', false, 'error', 'not_found');
            END IF;
            RETURN jsonb_build_object('ok', false, 'error', 'conflict', 'current_version', v_existing);
        END IF;
    END IF;

    INSERT INTO case_events (authority_id, case_id, seq, type, actor_id, actor_role, effective_on, payload,
                             supersedes_seq, idempotency_key, workflow_sha256)
    VALUES (v_authority, v_case, v_seq, v_event ->> 'type', (v_event ->> 'actor_id')::bigint,
            v_event ->> 'actor_role', (v_event ->> 'effective_on')::date,
            jsonb_build_object('fields', coalesce(v_event -> 'fields', '{}'::jsonb)),
            (v_event ->> 'supersedes_seq')::integer, v_event ->> 'idempotency_key', v_event ->> 'workflow_sha256');

    INSERT INTO deadlines AS d (authority_id, case_id, deadline_key, instance_key, kind, basis, direction,
                                origin_on, due_on, status, settled_on, settled_by_seq, exception_applies,
                                set_by_seq)
    SELECT v_authority, v_case, x.deadline_key, x.instance_key, x.kind, x.basis, x.direction, x.origin_on,
           x.due_on, x.status, x.settled_on, x.settled_by_seq, x.exception_applies, x.set_by_seq
    FROM jsonb_to_recordset(coalesce(cmd -> 'deadlines', '[]'::jsonb)) AS x (
        deadline_key text, instance_key text, kind text, basis text, direction text, origin_on date,
        due_on date, status text, settled_on date, settled_by_seq integer, exception_applies boolean,
        set_by_seq integer)
    ON CONFLICT (case_id, deadline_key, instance_key) DO UPDATE
        SET due_on = excluded.due_on, status = excluded.status, settled_on = excluded.settled_on,
            settled_by_seq = excluded.settled_by_seq, exception_applies = excluded.exception_applies,
            next_fire_at = CASE WHEN excluded.status = 'open' THEN d.next_fire_at END, updated_at = now();

    UPDATE alerts a SET status = 'resolved', resolved_at = now(), resolution = x.resolution
    FROM jsonb_to_recordset(coalesce(cmd -> 'resolve_alerts', '[]'::jsonb))
             AS x (deadline_key text, instance_key text, resolution text),
         deadlines d
    WHERE d.case_id = v_case AND d.deadline_key = x.deadline_key AND d.instance_key = x.instance_key
      AND a.deadline_id = d.id AND a.status <> 'resolved';

    INSERT INTO case_report_codes AS r (authority_id, case_id, item, value, set_on, set_by_seq)
    SELECT v_authority, v_case, x.item, x.value, (v_event ->> 'effective_on')::date, v_seq
    FROM jsonb_to_recordset(coalesce(cmd -> 'reports', '[]'::jsonb)) AS x (item text, value text)
    ON CONFLICT (case_id, item) DO UPDATE
        SET value = excluded.value, set_on = excluded.set_on, set_by_seq = excluded.set_by_seq
        WHERE r.value IS DISTINCT FROM excluded.value;

    RETURN jsonb_build_object('ok', true, 'case_id', v_case, 'seq', v_seq);
END
$$;

CREATE FUNCTION ehc_apply_batch(cmds jsonb) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    results jsonb := '[]'::jsonb;
    r jsonb;
    v_state text;
    v_constraint text;
BEGIN
    FOR i IN 0 .. jsonb_array_length(cmds) - 1 LOOP
        BEGIN
            r := ehc__apply_command(cmds -> i);
        EXCEPTION WHEN OTHERS THEN
            -- never the message text: it can quote the values of personal data
            GET STACKED DIAGNOSTICS v_state = RETURNED_SQLSTATE, v_constraint = CONSTRAINT_NAME;
            r := jsonb_build_object('ok', false,
                                    'error', CASE WHEN v_state = '23505' THEN 'conflict' ELSE 'rejected' END,
                                    'sqlstate', v_state, 'constraint', nullif(v_constraint, ''));
        END;
        results := results || jsonb_build_array(r);
    END LOOP;
    RETURN results;
END
$$;

GRANT EXECUTE ON FUNCTION ehc_case_snapshot(text, bigint, text), ehc_apply_batch(jsonb) TO ehc_app;
REVOKE EXECUTE ON FUNCTION ehc__apply_command(jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION ehc__apply_command(jsonb) TO ehc_app;
