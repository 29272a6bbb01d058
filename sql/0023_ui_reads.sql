-- Reads for the browser interface's manager pages. Each change is additive: fields and rows are
-- added, none is removed or renamed.
--   ehc_case_list, ehc_case_view: the officer's display name beside officer_id ("officer_name"), so
--     that pages show a name, not a number.
--   ehc_caseload: every officer who holds an active officer grant for a team is listed, with 0 open
--     cases when they have none: a manager allocates to them too (before, only officers with open
--     cases were listed).

CREATE OR REPLACE FUNCTION ehc_case_list(p_authority_ids text, p_filter jsonb) RETURNS jsonb
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
                       'exception_applies', coalesce(nd.exception_applies, false),
                       'officer_name', u.display_name) AS x
            FROM cases c
            LEFT JOIN users u ON u.id = c.officer_id
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
            'officer_name', (SELECT u.display_name FROM users u WHERE u.id = c.officer_id),
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

CREATE OR REPLACE FUNCTION ehc_caseload(p_authority_ids text, p_team_ids jsonb) RETURNS jsonb
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM set_config('ehc.authority_ids', p_authority_ids, true);
    RETURN jsonb_build_object(
        'officers', coalesce((
            SELECT jsonb_agg(jsonb_build_object('team_id', x.team_id, 'officer_id', x.officer_id,
                                                'username', u.username, 'display_name', u.display_name,
                                                'open_cases', x.n) ORDER BY x.team_id, u.username)
            FROM (SELECT o.team_id, o.officer_id,
                         (SELECT count(*) FROM cases c WHERE c.status = 'open' AND c.team_id = o.team_id
                                                         AND c.officer_id = o.officer_id) AS n
                  FROM (SELECT c.team_id, c.officer_id FROM cases c
                        WHERE c.status = 'open' AND c.officer_id IS NOT NULL
                        UNION
                        SELECT g.team_id, g.user_id FROM role_grants g JOIN users gu ON gu.id = g.user_id
                        WHERE g.role = 'officer' AND g.revoked_at IS NULL AND gu.disabled_at IS NULL
                          AND g.authority_id IN (SELECT unnest(string_to_array(p_authority_ids, ','))::bigint)) AS o
                  WHERE p_team_ids IS NULL OR jsonb_typeof(p_team_ids) = 'null'
                     OR o.team_id IN (SELECT jsonb_array_elements_text(p_team_ids)::bigint)) AS x
            JOIN users u ON u.id = x.officer_id), '[]'::jsonb),
        'unallocated', (SELECT count(*) FROM cases c
                        WHERE c.status = 'open' AND c.officer_id IS NULL
                          AND (p_team_ids IS NULL OR jsonb_typeof(p_team_ids) = 'null'
                               OR c.team_id IN (SELECT jsonb_array_elements_text(p_team_ids)::bigint))));
END
$$;
