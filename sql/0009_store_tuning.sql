-- Store tuning, measured with `./ehc bench store` (docs in bench/README.md):
-- * generic plans for the command functions: their statements are the same every call, and
--   re-planning each one (custom plans) re-expanded the row-level-security policies each time;
-- * statements whose input list is empty are skipped rather than executed on no rows.

CREATE OR REPLACE FUNCTION ehc__apply_command(cmd jsonb) RETURNS jsonb
LANGUAGE plpgsql
SET plan_cache_mode = force_generic_plan AS $$
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
        UPDATE cases SET stage = v_proj ->> 'stage', status = v_proj ->> 'status',
                         closed_on = (v_proj ->> 'closed_on')::date, version = v_seq, updated_at = now()
        WHERE id = v_case AND version = v_seq - 1;
        IF NOT FOUND THEN
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

    IF jsonb_array_length(coalesce(cmd -> 'deadlines', '[]'::jsonb)) > 0 THEN
        INSERT INTO deadlines AS d (authority_id, case_id, deadline_key, instance_key, kind, basis, direction,
                                    origin_on, due_on, status, settled_on, settled_by_seq, exception_applies,
                                    set_by_seq)
        SELECT v_authority, v_case, x.deadline_key, x.instance_key, x.kind, x.basis, x.direction, x.origin_on,
               x.due_on, x.status, x.settled_on, x.settled_by_seq, x.exception_applies, x.set_by_seq
        FROM jsonb_to_recordset(cmd -> 'deadlines') AS x (
            deadline_key text, instance_key text, kind text, basis text, direction text, origin_on date,
            due_on date, status text, settled_on date, settled_by_seq integer, exception_applies boolean,
            set_by_seq integer)
        ON CONFLICT (case_id, deadline_key, instance_key) DO UPDATE
            SET due_on = excluded.due_on, status = excluded.status, settled_on = excluded.settled_on,
                settled_by_seq = excluded.settled_by_seq, exception_applies = excluded.exception_applies,
                next_fire_at = CASE WHEN excluded.status = 'open' THEN d.next_fire_at END, updated_at = now();
    END IF;

    IF jsonb_array_length(coalesce(cmd -> 'resolve_alerts', '[]'::jsonb)) > 0 THEN
        UPDATE alerts a SET status = 'resolved', resolved_at = now(), resolution = x.resolution
        FROM jsonb_to_recordset(cmd -> 'resolve_alerts') AS x (deadline_key text, instance_key text, resolution text),
             deadlines d
        WHERE d.case_id = v_case AND d.deadline_key = x.deadline_key AND d.instance_key = x.instance_key
          AND a.deadline_id = d.id AND a.status <> 'resolved';
    END IF;

    IF jsonb_array_length(coalesce(cmd -> 'reports', '[]'::jsonb)) > 0 THEN
        INSERT INTO case_report_codes AS r (authority_id, case_id, item, value, set_on, set_by_seq)
        SELECT v_authority, v_case, x.item, x.value, (v_event ->> 'effective_on')::date, v_seq
        FROM jsonb_to_recordset(cmd -> 'reports') AS x (item text, value text)
        ON CONFLICT (case_id, item) DO UPDATE
            SET value = excluded.value, set_on = excluded.set_on, set_by_seq = excluded.set_by_seq
            WHERE r.value IS DISTINCT FROM excluded.value;
    END IF;

    RETURN jsonb_build_object('ok', true, 'case_id', v_case, 'seq', v_seq);
END
$$;

ALTER FUNCTION ehc_case_snapshot(text, bigint, text) SET plan_cache_mode = force_generic_plan;
