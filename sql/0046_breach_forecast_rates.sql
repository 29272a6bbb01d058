-- The breach forecast (sql/0025), its rates worked out without a sort: each (week of the clock,
-- point of the process) asked takes one aggregate over the history, where the history rows were
-- joined to every point asked and then grouped (at 25,000 requests, a sort of 557,000 rows: 0.6-0.9 s
-- of 1.2-1.7 s). What it computes is unchanged; e2e/test_reports checks the figures and the
-- calibration.
CREATE OR REPLACE FUNCTION ehc_breach_forecast(p_authority_ids text, p_filter jsonb) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    v_today date := (p_filter ->> 'today')::date;
    v jsonb;
BEGIN
    PERFORM set_config('ehc.authority_ids', p_authority_ids, true);
    WITH clocks AS (
        -- each case's 20-week clock, and the day of it on which each step of the process was taken
        SELECT c.id, c.authority_id, c.reference, c.stage, c.status, c.team_id, c.officer_id, d.origin_on,
               d.due_on, d.status AS clock_status, d.settled_on - d.origin_on AS issued_day,
               ev.decided_on - d.origin_on AS decided_day, ev.advised_on - d.origin_on AS advised_day,
               ev.drafted_on - d.origin_on AS drafted_day
        FROM cases c
        JOIN deadlines d ON d.case_id = c.id AND d.deadline_key = 'final_plan_due' AND d.instance_key = ''
        LEFT JOIN LATERAL (
            SELECT min(e.effective_on) FILTER (WHERE e.type = 'decision_to_assess'
                                                 AND e.payload -> 'fields' ->> 'decision' = 'yes') AS decided_on,
                   min(e.effective_on) FILTER (WHERE e.type = 'advice_complete') AS advised_on,
                   min(e.effective_on) FILTER (WHERE e.type = 'draft_served') AS drafted_on
            FROM case_events e WHERE e.case_id = c.id) ev ON true
        WHERE c.workflow_id = 'ehc-needs-assessment'
          AND c.authority_id = ANY ((SELECT ehc_session_authorities())::bigint[]) -- and RLS again
    ), history AS MATERIALIZED (
        SELECT authority_id, issued_day, clock_status = 'met_late' AS late, decided_day, advised_day, drafted_day
        FROM clocks WHERE clock_status IN ('met', 'met_late')
    ), waiting AS (
        SELECT w.*, v_today - w.origin_on AS day_now, (v_today - w.origin_on) / 7 AS week_now,
               CASE WHEN w.drafted_day IS NOT NULL THEN 'draft_served'
                    WHEN w.advised_day IS NOT NULL THEN 'advice_complete'
                    WHEN w.decided_day IS NOT NULL THEN 'assessing'
                    ELSE 'request' END AS point
        FROM clocks w
        WHERE w.clock_status = 'open' AND w.status = 'open' AND w.origin_on <= v_today
          AND (NOT p_filter ? 'team_ids'
               OR w.team_id IN (SELECT (t #>> '{}')::bigint FROM jsonb_array_elements(p_filter -> 'team_ids') t))
    ), asked AS MATERIALIZED (
        SELECT DISTINCT authority_id, week_now, point FROM waiting
    ), rates AS MATERIALIZED (
        -- one aggregate over the history for each (week, point) asked: no grouping of the history
        -- rows times the points asked (a sort of half a million rows at 25,000 cases)
        SELECT a.authority_id, a.week_now, a.point, n.same_n, n.same_late, n.all_n, n.all_late
        FROM asked a
        CROSS JOIN LATERAL (
            SELECT count(*) FILTER (WHERE h.point_then = a.point) AS same_n,
                   count(*) FILTER (WHERE h.point_then = a.point AND h.late) AS same_late,
                   count(*) AS all_n, count(*) FILTER (WHERE h.late) AS all_late
            FROM (SELECT hh.late,
                         CASE WHEN hh.drafted_day <= a.week_now * 7 THEN 'draft_served'
                              WHEN hh.advised_day <= a.week_now * 7 THEN 'advice_complete'
                              WHEN hh.decided_day <= a.week_now * 7 THEN 'assessing'
                              ELSE 'request' END AS point_then
                  FROM history hh
                  WHERE hh.authority_id = a.authority_id AND hh.issued_day > a.week_now * 7) h) n
    ), forecast AS (
        SELECT w.*, r.same_n, r.all_n,
               CASE WHEN r.same_n >= 10 THEN r.same_late::numeric / r.same_n
                    WHEN r.all_n >= 10 THEN r.all_late::numeric / r.all_n END AS chance,
               CASE WHEN r.same_n >= 10 THEN 'same point of the process and week of the clock'
                    WHEN r.all_n >= 10 THEN 'same week of the clock'
                    ELSE 'too little history' END AS basis
        FROM waiting w
        LEFT JOIN rates r ON r.authority_id = w.authority_id AND r.week_now = w.week_now AND r.point = w.point
    )
    SELECT coalesce(jsonb_agg(jsonb_build_object(
               'case_id', f.id, 'reference', f.reference, 'stage', f.stage, 'point', f.point,
               'team_id', f.team_id, 'officer_id', f.officer_id,
               'officer_name', (SELECT u.display_name FROM users u WHERE u.id = f.officer_id),
               'origin_on', f.origin_on, 'due_on', f.due_on, 'days_gone', f.day_now,
               'days_left', f.due_on - v_today,
               'chance_of_missing_20_weeks', round(f.chance, 3),
               'history_cases', CASE WHEN f.same_n >= 10 THEN f.same_n ELSE f.all_n END,
               'basis', f.basis)
               ORDER BY f.chance DESC NULLS LAST, f.day_now DESC, f.id), '[]'::jsonb)
    INTO v
    FROM (SELECT * FROM forecast ORDER BY chance DESC NULLS LAST, day_now DESC, id
          LIMIT least(coalesce((p_filter ->> 'limit')::int, 500), 5000)) f;
    RETURN v;
END
$$;
