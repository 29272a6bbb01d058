-- Timeliness as the DfE derives it from SEN2 (statute.md §7): for acts done in a period, how many
-- met their statutory limit. Each measure is a deadline of a workflow; an act counts in the period
-- of the day it was done (the deadline's settled_on), on time when the deadline was met, late when
-- met late; withdrawn or otherwise cancelled clocks do not count.
--   decision_6_weeks     Reg 5(1): the decision whether to assess
--   no_plan_16_weeks     Reg 10(1): notice that no plan will be issued
--   plan_20_weeks        Reg 13(2): final plan issued, with and without the cases where an exception
--                        applied (the DfE's two rates)
--   plan_over_52_weeks   of the plans issued, those issued more than 52 weeks after the request
--   review_4_weeks       Reg 20(10): the review decision notified within 4 weeks of the meeting
--   advice_6_weeks       Reg 8(1): advice returned within 6 weeks, per adviser type and service
-- p_filter: {"from", "to" (dates, inclusive), "by": "authority" | "team" | "officer" | "month",
--            "team_ids": [..] (absent: every team of the authorities)}
CREATE FUNCTION ehc_timeliness(p_authority_ids text, p_filter jsonb) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    v_from date := (p_filter ->> 'from')::date;
    v_to date := (p_filter ->> 'to')::date;
    v_by text := coalesce(p_filter ->> 'by', 'authority');
    v jsonb;
BEGIN
    PERFORM set_config('ehc.authority_ids', p_authority_ids, true);
    WITH measures (measure, workflow_id, deadline_key) AS (
        VALUES ('decision_6_weeks', 'ehc-needs-assessment', 'decision_due'),
               ('no_plan_16_weeks', 'ehc-needs-assessment', 'no_plan_notice_due'),
               ('plan_20_weeks', 'ehc-needs-assessment', 'final_plan_due'),
               ('review_4_weeks', 'annual-review', 'review_decision_due'),
               ('review_4_weeks', 'transfer-in', 'review_decision_due'),
               ('advice_6_weeks', 'ehc-needs-assessment', 'advice_due'),
               ('advice_6_weeks', 'reassessment', 'advice_due')
    ), acts AS (
        SELECT m.measure, d.status = 'met' AS on_time, d.exception_applies, d.settled_on, d.origin_on,
               c.authority_id, c.team_id, c.officer_id, a.adviser_type, a.organisation_id,
               CASE v_by WHEN 'team' THEN jsonb_build_object('team_id', c.team_id)
                         WHEN 'officer' THEN jsonb_build_object('team_id', c.team_id, 'officer_id', c.officer_id)
                         WHEN 'month' THEN jsonb_build_object('month', to_char(d.settled_on, 'YYYY-MM'))
                         ELSE jsonb_build_object('authority_id', c.authority_id) END AS grp
        FROM deadlines d
        JOIN cases c ON c.id = d.case_id
        JOIN measures m ON m.workflow_id = c.workflow_id AND m.deadline_key = d.deadline_key
        LEFT JOIN advice_requests a ON m.measure = 'advice_6_weeks' AND a.case_id = d.case_id
                                    AND a.request_key = d.instance_key
        WHERE d.status IN ('met', 'met_late')
          AND d.settled_on BETWEEN v_from AND v_to
          AND (NOT p_filter ? 'team_ids'
               OR c.team_id IN (SELECT (t #>> '{}')::bigint FROM jsonb_array_elements(p_filter -> 'team_ids') t))
    ), rows AS (
        SELECT measure, grp, NULL::text AS adviser_type, NULL::bigint AS organisation_id,
               count(*) AS total, count(*) FILTER (WHERE on_time) AS on_time,
               count(*) FILTER (WHERE NOT exception_applies) AS total_excluding_exceptions,
               count(*) FILTER (WHERE on_time AND NOT exception_applies) AS on_time_excluding_exceptions,
               count(*) FILTER (WHERE settled_on - origin_on > 364) AS over_52_weeks
        FROM acts GROUP BY measure, grp
        UNION ALL
        SELECT 'advice_6_weeks_by_adviser', grp, adviser_type, organisation_id,
               count(*), count(*) FILTER (WHERE on_time),
               count(*) FILTER (WHERE NOT exception_applies),
               count(*) FILTER (WHERE on_time AND NOT exception_applies), 0
        FROM acts WHERE measure = 'advice_6_weeks' GROUP BY grp, adviser_type, organisation_id
    )
    SELECT coalesce(jsonb_agg(
               jsonb_strip_nulls(jsonb_build_object(
                   'measure', r.measure, 'group', r.grp, 'adviser_type', r.adviser_type,
                   'organisation_id', r.organisation_id, 'total', r.total, 'on_time', r.on_time,
                   'late', r.total - r.on_time,
                   'on_time_percent', round(100.0 * r.on_time / r.total, 1),
                   'total_excluding_exceptions', CASE WHEN r.measure = 'plan_20_weeks' THEN r.total_excluding_exceptions END,
                   'on_time_excluding_exceptions', CASE WHEN r.measure = 'plan_20_weeks' THEN r.on_time_excluding_exceptions END,
                   'on_time_percent_excluding_exceptions',
                       CASE WHEN r.measure = 'plan_20_weeks' AND r.total_excluding_exceptions > 0
                            THEN round(100.0 * r.on_time_excluding_exceptions / r.total_excluding_exceptions, 1) END,
                   'over_52_weeks', CASE WHEN r.measure = 'plan_20_weeks' THEN r.over_52_weeks END,
                   'over_52_weeks_percent', CASE WHEN r.measure = 'plan_20_weeks'
                                                 THEN round(100.0 * r.over_52_weeks / r.total, 1) END))
               ORDER BY r.measure, r.grp::text, r.adviser_type, r.organisation_id), '[]'::jsonb)
    INTO v FROM rows r;
    RETURN jsonb_build_object('from', v_from, 'to', v_to, 'by', v_by, 'rows', v);
END
$$;
GRANT EXECUTE ON FUNCTION ehc_timeliness(text, jsonb) TO ehc_app;
CREATE INDEX deadlines_settled ON deadlines (authority_id, deadline_key, settled_on) WHERE status IN ('met', 'met_late');
