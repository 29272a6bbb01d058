-- Advice requests, exceptions and allocation as projections of the event log, and what the
-- designated clinical officers and social-care teams read: the requests addressed to their service.
--  * advice_requests: one row per request key, kept whole from the events whose workflow
--    definition carries an "advice" action (requested, forwarded, returned, nil_return,
--    existing_sufficient); adviser types are the workflow's own (Reg 6(1)(a)-(h)).
--  * deadline_exceptions: one row per clock with an exception, from its exception_recorded event.
--  * cases.team_id/officer_id: changed only by a case_allocated event.

-- The adviser is the workflow's enum value; the day the adviser received the request is what
-- they say, and is checked by the API, not refused here after the machine accepted the event.
DO $$
DECLARE
    c record;
BEGIN
    FOR c IN SELECT conname FROM pg_constraint
             WHERE conrelid = 'advice_requests'::regclass AND contype = 'c'
               AND (pg_get_constraintdef(oid) LIKE '%adviser_type%'
                    OR pg_get_constraintdef(oid) LIKE '%received_by_adviser_on >= sent_on%')
    LOOP
        EXECUTE format('ALTER TABLE advice_requests DROP CONSTRAINT %I', c.conname);
    END LOOP;
END
$$;
ALTER TABLE advice_requests
    ADD CONSTRAINT advice_requests_adviser_type_id CHECK (adviser_type ~ '^[a-z0-9_-]{1,63}$'),
    ADD COLUMN requested_seq integer CHECK (requested_seq >= 1);
CREATE INDEX advice_requests_forwarded_open ON advice_requests (forwarded_to_id, due_on)
    WHERE returned_on IS NULL AND forwarded_to_id IS NOT NULL;
CREATE INDEX advice_requests_case ON advice_requests (case_id);

-- rows a correction removes from the log's meaning are removed from its projection
GRANT DELETE ON advice_requests, deadline_exceptions TO ehc_app;

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

    -- recorded_at from ehcd's clock (the one the machine judged "today" by), so that a replay judges
    -- the event by the same day, under a simulated clock too
    INSERT INTO case_events (authority_id, case_id, seq, type, actor_id, actor_role, recorded_at, effective_on,
                             payload, supersedes_seq, idempotency_key, workflow_sha256)
    VALUES (v_authority, v_case, v_seq, v_event ->> 'type', (v_event ->> 'actor_id')::bigint,
            v_event ->> 'actor_role',
            coalesce(to_timestamp((v_event ->> 'recorded_us')::double precision / 1000000.0), now()),
            (v_event ->> 'effective_on')::date,
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

    -- the write's line in the access log, in the same transaction as the write itself
    IF cmd ? 'access' THEN
        INSERT INTO access_log (authority_id, user_id, case_id, action, resource, request_id)
        VALUES (v_authority, (cmd -> 'access' ->> 'user_id')::bigint, v_case, 'write', cmd -> 'access' ->> 'resource',
                cmd -> 'access' ->> 'request_id');
    END IF;

    -- who holds the case: a case_allocated event (the API checked the team and officer; the
    -- foreign keys check them again)
    IF v_event ->> 'type' = 'case_allocated' THEN
        UPDATE cases SET team_id = (v_event -> 'fields' ->> 'team_id')::bigint,
                         officer_id = nullif(v_event -> 'fields' ->> 'officer_id', '')::bigint
        WHERE id = v_case;
    END IF;

    -- the case's advice requests, whole, as its log now says (Reg 6(1)); a request addressed to a
    -- service must be to one that serves this authority
    IF cmd ? 'advice' THEN
        IF EXISTS (SELECT 1 FROM jsonb_to_recordset(cmd -> 'advice') AS x (organisation_id bigint, forwarded_to_id bigint)
                   CROSS JOIN LATERAL (VALUES (x.organisation_id), (x.forwarded_to_id)) AS o (id)
                   WHERE o.id IS NOT NULL AND NOT EXISTS (
                       SELECT 1 FROM organisation_authorities oa
                       WHERE oa.organisation_id = o.id AND oa.authority_id = v_authority)) THEN
            RAISE EXCEPTION 'an advice request names a service that does not serve this authority'
                USING ERRCODE = 'foreign_key_violation', CONSTRAINT = 'advice_service_serves_authority';
        END IF;
        DELETE FROM advice_requests a
        WHERE a.case_id = v_case
          AND NOT EXISTS (SELECT 1 FROM jsonb_array_elements(cmd -> 'advice') x WHERE x ->> 'request_key' = a.request_key);
        INSERT INTO advice_requests AS a (authority_id, case_id, request_key, adviser_type, organisation_id, sent_on,
                                          received_by_adviser_on, due_on, returned_on, outcome, nil_reason,
                                          forwarded_to_id, requested_seq, updated_at)
        SELECT v_authority, v_case, x.request_key, x.adviser, x.organisation_id, x.sent_on, x.received_on, x.due_on,
               x.returned_on, x.outcome, x.nil_reason, x.forwarded_to_id, x.requested_seq, now()
        FROM jsonb_to_recordset(cmd -> 'advice') AS x (
            request_key text, adviser text, organisation_id bigint, sent_on date, received_on date, due_on date,
            returned_on date, outcome text, nil_reason text, forwarded_to_id bigint, requested_seq integer)
        ON CONFLICT (case_id, request_key) DO UPDATE
            SET adviser_type = excluded.adviser_type, organisation_id = excluded.organisation_id,
                sent_on = excluded.sent_on, received_by_adviser_on = excluded.received_by_adviser_on,
                due_on = excluded.due_on, returned_on = excluded.returned_on, outcome = excluded.outcome,
                nil_reason = excluded.nil_reason, forwarded_to_id = excluded.forwarded_to_id,
                requested_seq = excluded.requested_seq, updated_at = now();
    END IF;

    -- the exceptions applied to the case's clocks, whole (Regs 5(4), 8(2), 10(4), 13(3))
    IF cmd ? 'exceptions' THEN
        DELETE FROM deadline_exceptions WHERE case_id = v_case;
        INSERT INTO deadline_exceptions (authority_id, case_id, deadline_id, reason, basis, from_on, to_on,
                                         evidence_note, family_told_on, recorded_by_seq)
        SELECT v_authority, v_case, d.id, x.reason, x.basis, x.from_on, x.to_on, x.evidence_note, x.family_told_on,
               x.recorded_by_seq
        FROM jsonb_to_recordset(cmd -> 'exceptions') AS x (
            deadline_key text, instance_key text, reason text, basis text, from_on date, to_on date,
            evidence_note text, family_told_on date, recorded_by_seq integer)
        JOIN deadlines d ON d.case_id = v_case AND d.deadline_key = x.deadline_key AND d.instance_key = x.instance_key;
    END IF;

    RETURN jsonb_build_object('ok', true, 'case_id', v_case, 'seq', v_seq);
END
$$;

CREATE OR REPLACE FUNCTION ehc_case_view(p_authority_ids text, p_case_id bigint) RETURNS jsonb
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
            'exceptions', coalesce((SELECT jsonb_agg(jsonb_build_object(
                                        'deadline_id', x.deadline_id, 'deadline', d.deadline_key, 'key', d.instance_key,
                                        'exception', x.reason, 'basis', x.basis, 'from_on', x.from_on,
                                        'to_on', x.to_on, 'evidence', x.evidence_note,
                                        'family_told_on', x.family_told_on, 'recorded_by_seq', x.recorded_by_seq)
                                        ORDER BY x.recorded_by_seq)
                                    FROM deadline_exceptions x JOIN deadlines d ON d.id = x.deadline_id
                                    WHERE x.case_id = c.id), '[]'::jsonb),
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

-- The advice requests a caller may see. p_filter:
--   "scopes": [[authority_id, organisation_id], ...]  a DCO's or social-care team's services: the
--             requests addressed to them, or forwarded to them
--   "team_ids": [..]   officers' and managers' teams (absent with neither: the whole authorities)
--   "status": "open" | "returned" | "all" (default open), "overdue_on": a date, "limit", "offset"
-- With p_user_id, each case whose child is shown is recorded in the access log as read.
CREATE FUNCTION ehc_advice_list(p_authority_ids text, p_filter jsonb, p_user_id bigint, p_request_id text)
RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    v jsonb;
BEGIN
    PERFORM set_config('ehc.authority_ids', p_authority_ids, true);
    WITH shown AS (
        SELECT a.*, c.reference, c.stage, c.team_id, ch.forename, ch.surname, ch.date_of_birth, ch.nhs_number,
               o.name AS organisation_name, f.name AS forwarded_to_name
        FROM advice_requests a
        JOIN cases c ON c.id = a.case_id
        JOIN children ch ON ch.id = c.child_id
        LEFT JOIN organisations o ON o.id = a.organisation_id
        LEFT JOIN organisations f ON f.id = a.forwarded_to_id
        WHERE (NOT p_filter ? 'scopes'
               OR EXISTS (SELECT 1 FROM jsonb_array_elements(p_filter -> 'scopes') s
                          WHERE (s ->> 0)::bigint = a.authority_id
                            AND (s ->> 1)::bigint IN (a.organisation_id, a.forwarded_to_id)))
          AND (NOT p_filter ? 'team_ids'
               OR c.team_id IN (SELECT (t #>> '{}')::bigint FROM jsonb_array_elements(p_filter -> 'team_ids') t))
          AND CASE coalesce(p_filter ->> 'status', 'open')
                  WHEN 'open' THEN a.returned_on IS NULL AND c.status = 'open'
                  WHEN 'returned' THEN a.returned_on IS NOT NULL
                  ELSE true END
          AND (p_filter ->> 'overdue_on' IS NULL
               OR (a.returned_on IS NULL AND a.due_on < (p_filter ->> 'overdue_on')::date))
          AND (p_filter ->> 'case_id' IS NULL OR a.case_id = (p_filter ->> 'case_id')::bigint)
        ORDER BY a.due_on NULLS LAST, a.id
        LIMIT least(coalesce((p_filter ->> 'limit')::int, 100), 500)
        OFFSET coalesce((p_filter ->> 'offset')::int, 0)
    ), logged AS (
        INSERT INTO access_log (authority_id, user_id, case_id, action, resource, request_id)
        SELECT DISTINCT s.authority_id, p_user_id, s.case_id, 'read', 'advice request', p_request_id
        FROM shown s WHERE p_user_id IS NOT NULL
    )
    SELECT coalesce(jsonb_agg(jsonb_build_object(
               'id', s.id, 'case_id', s.case_id, 'case_reference', s.reference, 'case_stage', s.stage,
               'request_key', s.request_key, 'adviser', s.adviser_type,
               'organisation_id', s.organisation_id, 'organisation_name', s.organisation_name,
               'forwarded_to_id', s.forwarded_to_id, 'forwarded_to_name', s.forwarded_to_name,
               'sent_on', s.sent_on, 'received_by_adviser_on', s.received_by_adviser_on, 'due_on', s.due_on,
               'returned_on', s.returned_on, 'outcome', s.outcome, 'nil_reason', s.nil_reason,
               'child', jsonb_build_object('forename', s.forename, 'surname', s.surname,
                                           'date_of_birth', s.date_of_birth, 'nhs_number', s.nhs_number))
               ORDER BY s.due_on NULLS LAST, s.id), '[]'::jsonb)
    INTO v FROM shown s;
    RETURN v;
END
$$;

-- What authorisation needs about one advice request and its case.
CREATE FUNCTION ehc_advice_header(p_authority_ids text, p_advice_id bigint)
RETURNS TABLE (authority_id bigint, case_id bigint, team_id bigint, organisation_id bigint, forwarded_to_id bigint,
               request_key text, returned_on date, version integer, workflow_id text)
LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
BEGIN
    PERFORM set_config('ehc.authority_ids', p_authority_ids, true);
    RETURN QUERY SELECT a.authority_id, a.case_id, c.team_id, a.organisation_id, a.forwarded_to_id, a.request_key,
                        a.returned_on, c.version, c.workflow_id
                 FROM advice_requests a JOIN cases c ON c.id = a.case_id
                 WHERE a.id = p_advice_id;
END
$$;

-- A service, if it serves the authority: its kind.
CREATE FUNCTION ehc_service_kind(p_organisation_id bigint, p_authority_id bigint) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT o.kind FROM organisations o
    JOIN organisation_authorities oa ON oa.organisation_id = o.id AND oa.authority_id = p_authority_id
    WHERE o.id = p_organisation_id
$$;

-- A team of the authority, and (when given) whether the officer works in it as an officer.
CREATE FUNCTION ehc_allocation_target(p_authority_ids text, p_team_id bigint, p_officer_id bigint)
RETURNS TABLE (team_authority_id bigint, officer_in_team boolean)
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM set_config('ehc.authority_ids', p_authority_ids, true);
    RETURN QUERY
        SELECT t.authority_id,
               p_officer_id IS NULL OR EXISTS (
                   SELECT 1 FROM role_grants g JOIN users u ON u.id = g.user_id
                   WHERE g.user_id = p_officer_id AND g.team_id = t.id AND g.role IN ('officer', 'manager')
                     AND g.revoked_at IS NULL AND u.disabled_at IS NULL)
        FROM teams t WHERE t.id = p_team_id;
END
$$;

GRANT EXECUTE ON FUNCTION ehc_advice_list(text, jsonb, bigint, text), ehc_advice_header(text, bigint),
    ehc_service_kind(bigint, bigint), ehc_allocation_target(text, bigint, bigint) TO ehc_app;
