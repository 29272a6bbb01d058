-- What the API reads (and the one write it adds), each bound to the caller's authorities first (row-level security then
-- decides what exists), and returned as one JSON document per call.

-- The fields of a case that authorisation needs: authority, team, officer.
CREATE FUNCTION ehc_case_header(p_authority_ids text, p_case_id bigint)
RETURNS TABLE (authority_id bigint, team_id bigint, officer_id bigint, version integer, workflow_id text)
LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
BEGIN
    PERFORM set_config('ehc.authority_ids', p_authority_ids, true);
    RETURN QUERY SELECT c.authority_id, c.team_id, c.officer_id, c.version, c.workflow_id FROM cases c
                 WHERE c.id = p_case_id;
END
$$;

-- A case with its child, events, statutory dates, advice requests and alerts.
CREATE FUNCTION ehc_case_view(p_authority_ids text, p_case_id bigint) RETURNS jsonb
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM set_config('ehc.authority_ids', p_authority_ids, true);
    RETURN (
        SELECT jsonb_build_object(
            'id', c.id, 'reference', c.reference, 'authority_id', c.authority_id, 'team_id', c.team_id,
            'officer_id', c.officer_id, 'workflow_id', c.workflow_id, 'workflow_sha256', c.workflow_sha256,
            'stage', c.stage, 'status', c.status, 'opened_on', c.opened_on, 'closed_on', c.closed_on,
            'version', c.version, 'migrated', c.migrated,
            'child', (SELECT jsonb_build_object('id', ch.id, 'forename', ch.forename, 'surname', ch.surname,
                                                'date_of_birth', ch.date_of_birth, 'nhs_number', ch.nhs_number,
                                                'upn', ch.upn, 'erased', ch.erased_at IS NOT NULL)
                      FROM children ch WHERE ch.id = c.child_id),
            'events', coalesce((SELECT jsonb_agg(jsonb_build_object(
                                    'seq', e.seq, 'type', e.type, 'effective_on', e.effective_on,
                                    'recorded_at', e.recorded_at, 'actor_id', e.actor_id, 'actor_role', e.actor_role,
                                    'fields', e.payload -> 'fields', 'supersedes_seq', e.supersedes_seq) ORDER BY e.seq)
                                FROM case_events e WHERE e.case_id = c.id), '[]'::jsonb),
            'deadlines', coalesce((SELECT jsonb_agg(jsonb_build_object(
                                       'id', d.id, 'deadline', d.deadline_key, 'key', d.instance_key, 'kind', d.kind,
                                       'basis', d.basis, 'direction', d.direction, 'origin_on', d.origin_on,
                                       'due_on', d.due_on, 'status', d.status, 'settled_on', d.settled_on,
                                       'exception_applies', d.exception_applies) ORDER BY d.due_on, d.id)
                                   FROM deadlines d WHERE d.case_id = c.id), '[]'::jsonb),
            'advice_requests', coalesce((SELECT jsonb_agg(to_jsonb(a) - 'authority_id' ORDER BY a.sent_on, a.id)
                                         FROM advice_requests a WHERE a.case_id = c.id), '[]'::jsonb),
            'alerts', coalesce((SELECT jsonb_agg(jsonb_build_object(
                                    'id', al.id, 'deadline_id', al.deadline_id, 'level', al.level,
                                    'fire_at', al.fire_at, 'status', al.status, 'resolution', al.resolution)
                                    ORDER BY al.fire_at)
                                FROM alerts al WHERE al.case_id = c.id), '[]'::jsonb),
            'sen2', coalesce((SELECT jsonb_object_agg(r.item, r.value) FROM case_report_codes r
                              WHERE r.case_id = c.id), '{}'::jsonb))
        FROM cases c WHERE c.id = p_case_id);
END
$$;

-- Open cases matching the filters the caller may use, soonest statutory date first.
-- p_filter: {"team_ids": [..] | null, "officer_id", "stage", "unallocated", "overdue_on" (a date),
--            "due_by" (a date), "exception", "limit", "offset"}
CREATE FUNCTION ehc_case_list(p_authority_ids text, p_filter jsonb) RETURNS jsonb
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM set_config('ehc.authority_ids', p_authority_ids, true);
    RETURN coalesce((
        SELECT jsonb_agg(x ORDER BY x ->> 'next_due_on' NULLS LAST, (x ->> 'id')::bigint)
        FROM (
            SELECT jsonb_build_object(
                       'id', c.id, 'reference', c.reference, 'stage', c.stage, 'team_id', c.team_id,
                       'officer_id', c.officer_id, 'opened_on', c.opened_on, 'version', c.version,
                       'next_due_on', nd.due_on, 'next_deadline', nd.deadline_key, 'next_kind', nd.kind,
                       'exception_applies', coalesce(nd.exception_applies, false)) AS x
            FROM cases c
            LEFT JOIN LATERAL (SELECT d.due_on, d.deadline_key, d.kind, d.exception_applies FROM deadlines d
                               WHERE d.case_id = c.id AND d.status = 'open' AND d.direction = 'latest'
                               ORDER BY d.due_on LIMIT 1) nd ON true
            WHERE c.status = 'open'
              AND (p_filter -> 'team_ids' IS NULL OR jsonb_typeof(p_filter -> 'team_ids') = 'null'
                   OR c.team_id IN (SELECT jsonb_array_elements_text(p_filter -> 'team_ids')::bigint))
              AND (p_filter ->> 'officer_id' IS NULL OR c.officer_id = (p_filter ->> 'officer_id')::bigint)
              AND (p_filter ->> 'stage' IS NULL OR c.stage = p_filter ->> 'stage')
              AND (coalesce((p_filter ->> 'unallocated')::boolean, false) = false OR c.officer_id IS NULL)
              AND (p_filter ->> 'overdue_on' IS NULL OR nd.due_on < (p_filter ->> 'overdue_on')::date)
              AND (p_filter ->> 'due_by' IS NULL OR nd.due_on <= (p_filter ->> 'due_by')::date)
              AND (p_filter ->> 'exception' IS NULL
                   OR EXISTS (SELECT 1 FROM deadlines d WHERE d.case_id = c.id AND d.exception_applies)
                      = (p_filter ->> 'exception')::boolean)
            ORDER BY nd.due_on NULLS LAST, c.id
            LIMIT least(coalesce((p_filter ->> 'limit')::int, 100), 500)
            OFFSET coalesce((p_filter ->> 'offset')::int, 0)) AS rows), '[]'::jsonb);
END
$$;

-- A child not yet known is recorded by the command that opens their first case, atomically
-- (a refused case leaves no orphan child record).
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
    v_child bigint := (cmd -> 'case' ->> 'child_id')::bigint;
    v_new_child jsonb := cmd -> 'case' -> 'child';
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
        IF v_new_child IS NOT NULL THEN
            -- a child not yet known: recorded with their first case, in the same subtransaction
            INSERT INTO children (authority_id, forename, surname, date_of_birth, sex, nhs_number, upn, postcode,
                                  first_language, interpreter_needed, young_person_acts_for_self, setting_urn)
            VALUES (v_authority, v_new_child ->> 'forename', v_new_child ->> 'surname',
                    (v_new_child ->> 'date_of_birth')::date, v_new_child ->> 'sex', v_new_child ->> 'nhs_number',
                    v_new_child ->> 'upn', v_new_child ->> 'postcode', v_new_child ->> 'first_language',
                    coalesce((v_new_child ->> 'interpreter_needed')::boolean, false),
                    coalesce((v_new_child ->> 'young_person_acts_for_self')::boolean, false),
                    v_new_child ->> 'setting_urn')
            RETURNING id INTO v_child;
        END IF;
        INSERT INTO cases (authority_id, reference, child_id, workflow_id, workflow_sha256, calendar_sha256,
                           stage, status, team_id, officer_id, opened_on, closed_on, version, migrated,
                           open_idempotency_key)
        VALUES (v_authority, cmd -> 'case' ->> 'reference', v_child,
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

-- Children already known who may be the same person: same NHS number or UPN, or the same surname
-- and date of birth.
CREATE FUNCTION ehc_child_duplicates(p_authority_ids text, p_child jsonb) RETURNS jsonb
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM set_config('ehc.authority_ids', p_authority_ids, true);
    RETURN coalesce((
        SELECT jsonb_agg(jsonb_build_object('id', ch.id, 'forename', ch.forename, 'surname', ch.surname,
                                            'date_of_birth', ch.date_of_birth, 'nhs_number', ch.nhs_number,
                                            'upn', ch.upn))
        FROM children ch
        WHERE ch.erased_at IS NULL
          AND ((p_child ->> 'nhs_number' IS NOT NULL AND ch.nhs_number = p_child ->> 'nhs_number')
               OR (p_child ->> 'upn' IS NOT NULL AND ch.upn = p_child ->> 'upn')
               OR (lower(ch.surname) = lower(p_child ->> 'surname')
                   AND ch.date_of_birth = (p_child ->> 'date_of_birth')::date))), '[]'::jsonb);
END
$$;

GRANT EXECUTE ON FUNCTION ehc_case_header(text, bigint), ehc_case_view(text, bigint), ehc_case_list(text, jsonb),
    ehc_child_duplicates(text, jsonb) TO ehc_app;

-- One line of the access log: who read or wrote which case, when, for which request.
CREATE FUNCTION ehc_access_logged(p_authority_id bigint, p_user_id bigint, p_case_id bigint, p_action text,
                                  p_resource text, p_request_id text) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM set_config('ehc.authority_ids', p_authority_id::text, true);
    INSERT INTO access_log (authority_id, user_id, case_id, action, resource, request_id)
    VALUES (p_authority_id, p_user_id, p_case_id, p_action, p_resource, p_request_id);
END
$$;
GRANT EXECUTE ON FUNCTION ehc_access_logged(bigint, bigint, bigint, text, text, text) TO ehc_app;
