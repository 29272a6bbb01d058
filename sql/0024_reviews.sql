-- Annual reviews for the people who run them (CFA 2014 s44; SEND Regs 2014 regs 18-20): every open
-- plan under review, with its next review date, any review decision due, and any phase transfer
-- due (Reg 18(1): before 15 February of the year of a move between school phases, before 31 March before
-- post-16), so a team can
-- plan the term's reviews by setting and see the transfer cohort the autumn before.
-- p_filter: {"team_ids": [..] | absent, "due_by" (date), "setting" (URN), "transfer_by" (date),
--            "limit", "offset"}. Each case whose child is listed is recorded as read.
CREATE FUNCTION ehc_review_list(p_authority_ids text, p_filter jsonb, p_user_id bigint, p_request_id text)
RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    v jsonb;
BEGIN
    PERFORM set_config('ehc.authority_ids', p_authority_ids, true);
    WITH plans AS (
        SELECT c.id, c.authority_id, c.reference, c.stage, c.workflow_id, c.team_id, c.officer_id, c.version,
               u.display_name AS officer_name, ch.forename, ch.surname, ch.date_of_birth, ch.setting_urn,
               (SELECT min(d.due_on) FROM deadlines d WHERE d.case_id = c.id AND d.status = 'open'
                  AND d.deadline_key IN ('first_review_due', 'review_due', 'transfer_review_due')) AS review_due_on,
               (SELECT min(d.due_on) FROM deadlines d WHERE d.case_id = c.id AND d.status = 'open'
                  AND d.deadline_key = 'review_decision_due') AS decision_due_on,
               (SELECT min(d.due_on) FROM deadlines d WHERE d.case_id = c.id AND d.status = 'open'
                  AND d.deadline_key IN ('phase_transfer_due', 'post16_transfer_due')) AS transfer_due_on
        FROM cases c
        JOIN children ch ON ch.id = c.child_id
        LEFT JOIN users u ON u.id = c.officer_id
        WHERE c.status = 'open' AND c.workflow_id IN ('annual-review', 'transfer-in')
          AND (NOT p_filter ? 'team_ids'
               OR c.team_id IN (SELECT (t #>> '{}')::bigint FROM jsonb_array_elements(p_filter -> 'team_ids') t))
          AND (p_filter ->> 'setting' IS NULL OR ch.setting_urn = p_filter ->> 'setting')
    ), shown AS (
        SELECT * FROM plans p
        WHERE (p_filter ->> 'due_by' IS NULL OR p.review_due_on <= (p_filter ->> 'due_by')::date
               OR p.decision_due_on <= (p_filter ->> 'due_by')::date)
          AND (p_filter ->> 'transfer_by' IS NULL OR p.transfer_due_on <= (p_filter ->> 'transfer_by')::date)
        ORDER BY least(p.review_due_on, p.decision_due_on, p.transfer_due_on) NULLS LAST, p.id
        LIMIT least(coalesce((p_filter ->> 'limit')::int, 200), 500)
        OFFSET coalesce((p_filter ->> 'offset')::int, 0)
    ), logged AS (
        INSERT INTO access_log (authority_id, user_id, case_id, action, resource, request_id)
        SELECT s.authority_id, p_user_id, s.id, 'read', 'review list', p_request_id FROM shown s
        WHERE p_user_id IS NOT NULL
    )
    SELECT coalesce(jsonb_agg(jsonb_build_object(
               'case_id', s.id, 'reference', s.reference, 'workflow_id', s.workflow_id, 'stage', s.stage,
               'version', s.version, 'team_id', s.team_id, 'officer_id', s.officer_id,
               'officer_name', s.officer_name, 'setting_urn', s.setting_urn,
               'review_due_on', s.review_due_on, 'decision_due_on', s.decision_due_on,
               'transfer_due_on', s.transfer_due_on,
               'child', jsonb_build_object('forename', s.forename, 'surname', s.surname,
                                           'date_of_birth', s.date_of_birth))
               ORDER BY least(s.review_due_on, s.decision_due_on, s.transfer_due_on) NULLS LAST, s.id), '[]'::jsonb)
    INTO v FROM shown s;
    RETURN v;
END
$$;
GRANT EXECUTE ON FUNCTION ehc_review_list(text, jsonb, bigint, text) TO ehc_app;
