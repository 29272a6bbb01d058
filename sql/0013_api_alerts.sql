-- Alerts through the API: the list a team manager or officer works from, and acknowledging one
-- (who and when recorded). Scoped like cases: bound to the caller's authorities, and to their teams
-- unless they are a service manager there (p_team_ids NULL).

CREATE FUNCTION ehc_alert_list(p_authority_ids text, p_filter jsonb) RETURNS jsonb
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM set_config('ehc.authority_ids', p_authority_ids, true);
    RETURN coalesce((
        SELECT jsonb_agg(x ORDER BY (x ->> 'fire_at') DESC, (x ->> 'id')::bigint DESC)
        FROM (
            SELECT jsonb_build_object(
                       'id', a.id, 'case_id', c.id, 'case_reference', c.reference, 'stage', c.stage,
                       'team_id', c.team_id, 'officer_id', c.officer_id, 'deadline_id', d.id,
                       'deadline', d.deadline_key, 'deadline_kind', d.kind, 'basis', d.basis, 'due_on', d.due_on,
                       'level', a.level, 'fire_at', a.fire_at, 'caught_up', a.caught_up,
                       'exception_applies', a.exception_applies, 'status', a.status,
                       'acknowledged_by', a.acknowledged_by, 'acknowledged_at', a.acknowledged_at,
                       'resolved_at', a.resolved_at, 'resolution', a.resolution) AS x
            FROM alerts a
            JOIN cases c ON c.id = a.case_id
            JOIN deadlines d ON d.id = a.deadline_id
            WHERE (p_filter -> 'team_ids' IS NULL OR jsonb_typeof(p_filter -> 'team_ids') = 'null'
                   OR c.team_id IN (SELECT jsonb_array_elements_text(p_filter -> 'team_ids')::bigint))
              AND (p_filter ->> 'status' IS NULL OR a.status = p_filter ->> 'status')
              AND (p_filter ->> 'level' IS NULL OR a.level = p_filter ->> 'level')
              AND (p_filter ->> 'officer_id' IS NULL OR c.officer_id = (p_filter ->> 'officer_id')::bigint)
              AND (p_filter ->> 'case_id' IS NULL OR c.id = (p_filter ->> 'case_id')::bigint)
            ORDER BY a.fire_at DESC, a.id DESC
            LIMIT least(coalesce((p_filter ->> 'limit')::int, 100), 500)
            OFFSET coalesce((p_filter ->> 'offset')::int, 0)) AS rows), '[]'::jsonb);
END
$$;

-- 'done', 'not_found' (not visible to the caller), or the alert's status when it cannot be
-- acknowledged ('acknowledged' already, or 'resolved').
CREATE FUNCTION ehc_alert_acknowledge(p_authority_ids text, p_team_ids jsonb, p_alert_id bigint, p_user_id bigint)
RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    v_status text;
BEGIN
    PERFORM set_config('ehc.authority_ids', p_authority_ids, true);
    SELECT a.status INTO v_status FROM alerts a JOIN cases c ON c.id = a.case_id
    WHERE a.id = p_alert_id
      AND (p_team_ids IS NULL OR jsonb_typeof(p_team_ids) = 'null'
           OR c.team_id IN (SELECT jsonb_array_elements_text(p_team_ids)::bigint))
    FOR UPDATE OF a;
    IF NOT FOUND THEN
        RETURN 'not_found';
    END IF;
    IF v_status <> 'open' THEN
        RETURN v_status;
    END IF;
    UPDATE alerts SET status = 'acknowledged', acknowledged_by = p_user_id, acknowledged_at = now()
    WHERE id = p_alert_id;
    RETURN 'done';
END
$$;

GRANT EXECUTE ON FUNCTION ehc_alert_list(text, jsonb), ehc_alert_acknowledge(text, jsonb, bigint, bigint) TO ehc_app;
