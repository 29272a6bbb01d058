-- The SEN2 return, completed (statute.md §7): modules 5a (active plans), 5b (placement detail) and
-- SEN need; a named plan ceased through the child's annual review; the validation of the records
-- kept since 0027 (placements, cease, need); and the whole return as one XML document.
--
-- Active plans (5a) are the named plans of the return not ceased by the reference date. Their items
-- come from the child's annual-review and transfer-in cases (events standing, not corrected away, on
-- or before the reference date; the review's items from the activity year on):
--   TransferLA              old_authority of transfer_notified (the authority the plan came from)
--   ReviewMeeting           the last review_meeting_held
--   ReviewOutcome           the last review decision: the workflow's maintain or amend, or cease
--                           (cease_decision_notified); the DfE's codes for it are not verified
--   ReviewDecisionDate      that decision's date
--   DraftAmendedPlanDate    the last amendment_proposed (the draft amended plan sent, Reg 22(2))
--   PhaseTransferDueDate    the due date of the phase-transfer clock (Reg 18), cancelled ones aside
--   PhaseTransferFinalDate  the last amended_plan_issued that names the next setting
-- These item names follow statute.md §7's descriptions; the DfE's exact spelling is unverified.
-- 5b lists the placements of the active plans current on the reference date; SEN need the child's
-- ranked needs (child_needs), one row per rank, for each active plan.

CREATE OR REPLACE FUNCTION ehc_sen2_items(p_module text) RETURNS text[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE p_module
        WHEN 'person' THEN ARRAY['PersonID', 'Surname', 'Forename', 'PersonBirthDate', 'Sex', 'Ethnicity',
                                 'PostCode', 'UPN', 'UniqueLearnerNumber']
        WHEN 'requests' THEN ARRAY['PersonID', 'RequestID', 'ReceivedDate', 'RequestSource', 'RYA',
                                   'RequestOutcomeDate', 'RequestOutcome', 'RequestMediation', 'RequestTribunal']
        WHEN 'assessments' THEN ARRAY['RequestID', 'AssessmentOutcome', 'AssessmentOutcomeDate',
                                      'AssessmentMediation', 'AssessmentTribunal', 'OtherMediation',
                                      'OtherTribunal', 'Week20']
        WHEN 'plans' THEN ARRAY['RequestID', 'StartDate', 'PlanRes', 'PlanWBP', 'PB', 'OA', 'DP', 'CeaseDate',
                                'CeaseReason']
        WHEN 'placements' THEN ARRAY['RequestID', 'URN', 'UKPRN', 'SENsetting', 'PlacementRank', 'SENUnitIndicator',
                                     'ResourcedProvisionIndicator', 'EntryDate', 'LeavingDate']
        WHEN 'active_plans' THEN ARRAY['RequestID', 'TransferLA', 'ReviewMeeting', 'ReviewOutcome',
                                       'ReviewDecisionDate', 'DraftAmendedPlanDate', 'PhaseTransferDueDate',
                                       'PhaseTransferFinalDate']
        WHEN 'placement_detail' THEN ARRAY['RequestID', 'URN', 'UKPRN', 'SENsetting', 'PlacementRank',
                                           'SENUnitIndicator', 'ResourcedProvisionIndicator', 'EntryDate']
        WHEN 'sen_need' THEN ARRAY['PersonID', 'RequestID', 'SENtype', 'SENtypeRank']
    END
$$;

-- Every named plan of the return: a plan record, or the StartDate a final plan set; ceased as its own
-- record or codes say, or else as the child's later annual-review case says (plan_ceased,
-- plan_transferred, child_died set CeaseDate and CeaseReason there).
CREATE OR REPLACE FUNCTION ehc_sen2_plan_rows(p_census_year int)
RETURNS TABLE (case_id bigint, authority_id bigint, reference text, child_id bigint, opened_on date,
               workflow_id text, plan_id bigint, start_on date, plan_res text, plan_wbp text, pb text, oa text,
               dp text, cease_on date, cease_reason text)
LANGUAGE sql STABLE AS $$
    WITH y AS (
        SELECT make_date(p_census_year - 1, 1, 1) AS y0, ehc_sen2_reference_date(p_census_year) AS ref
    ), c AS (
        SELECT c.id, c.authority_id, c.reference, c.child_id, c.opened_on, c.workflow_id, p.id AS plan_id,
               coalesce(p.start_on, ehc_sen2_date((SELECT r.value FROM case_report_codes r
                                                   WHERE r.case_id = c.id AND r.item = 'StartDate'))) AS start_on,
               p.residential, p.work_based, p.personal_budget, p.organised_arrangements, p.direct_payments,
               p.cease_on AS own_cease_on, p.cease_reason AS own_cease_reason
        FROM cases c
        LEFT JOIN plans p ON p.case_id = c.id
    ), s AS (
        SELECT c.*,
               coalesce(c.own_cease_on, ehc_sen2_date((SELECT r.value FROM case_report_codes r
                                                       WHERE r.case_id = c.id AND r.item = 'CeaseDate')),
                        ehc_sen2_date(rv.cease_on)) AS cease_on,
               coalesce(c.own_cease_reason::text, (SELECT r.value FROM case_report_codes r
                                                   WHERE r.case_id = c.id AND r.item = 'CeaseReason'),
                        rv.cease_reason) AS cease_reason
        FROM c
        LEFT JOIN LATERAL (
            SELECT d.value AS cease_on, e.value AS cease_reason
            FROM cases r
            JOIN case_report_codes d ON d.case_id = r.id AND d.item = 'CeaseDate'
            LEFT JOIN case_report_codes e ON e.case_id = r.id AND e.item = 'CeaseReason'
            WHERE r.child_id = c.child_id AND r.workflow_id = 'annual-review' AND r.opened_on >= c.start_on
            ORDER BY r.opened_on DESC, r.id DESC
            LIMIT 1) rv ON c.start_on IS NOT NULL
        WHERE c.start_on IS NOT NULL
    )
    SELECT s.id, s.authority_id, s.reference, s.child_id, s.opened_on, s.workflow_id, s.plan_id, s.start_on,
           CASE WHEN s.plan_id IS NOT NULL THEN s.residential::int::text END,
           CASE WHEN s.plan_id IS NOT NULL THEN s.work_based::int::text END,
           CASE WHEN s.plan_id IS NOT NULL THEN s.personal_budget::int::text END,
           CASE WHEN s.plan_id IS NOT NULL THEN s.organised_arrangements::int::text END,
           CASE WHEN s.plan_id IS NOT NULL THEN s.direct_payments::int::text END,
           CASE WHEN s.cease_on <= y.ref THEN s.cease_on END,
           CASE WHEN s.cease_on <= y.ref THEN s.cease_reason END
    FROM s CROSS JOIN y
    WHERE s.start_on <= y.ref AND (s.cease_on IS NULL OR s.cease_on >= y.y0)
$$;

-- Module 5a: the plans of the return still active on the reference date, with what the child's
-- review and transfer cases say (see the top of this file).
CREATE FUNCTION ehc_sen2_active_rows(p_census_year int)
RETURNS TABLE (case_id bigint, authority_id bigint, reference text, child_id bigint, transfer_la text,
               review_meeting_on date, review_outcome text, review_decision_on date, draft_amended_on date,
               phase_transfer_due_on date, phase_transfer_final_on date)
LANGUAGE sql STABLE AS $$
    WITH y AS (
        SELECT make_date(p_census_year - 1, 1, 1) AS y0, ehc_sen2_reference_date(p_census_year) AS ref
    ), p AS MATERIALIZED (
        SELECT p.case_id, p.authority_id, p.reference, p.child_id
        FROM ehc_sen2_plan_rows(p_census_year) p
        WHERE p.cease_on IS NULL
    ), ev AS MATERIALIZED (
        SELECT r.child_id, r.id AS review_case_id, e.type, e.effective_on, e.payload -> 'fields' AS f
        FROM cases r
        JOIN case_events e ON e.case_id = r.id
        CROSS JOIN y
        WHERE r.workflow_id IN ('annual-review', 'transfer-in') AND r.child_id IN (SELECT p.child_id FROM p)
          AND e.effective_on <= y.ref
          AND e.type IN ('transfer_notified', 'review_meeting_held', 'review_decision_notified',
                         'cease_decision_notified', 'amendment_proposed', 'amended_plan_issued')
          AND NOT EXISTS (SELECT 1 FROM case_events s WHERE s.case_id = e.case_id AND s.supersedes_seq = e.seq)
    )
    SELECT p.case_id, p.authority_id, p.reference, p.child_id,
           (SELECT ev.f ->> 'old_authority' FROM ev
            WHERE ev.child_id = p.child_id AND ev.type = 'transfer_notified'
            ORDER BY ev.effective_on DESC LIMIT 1),
           (SELECT max(ev.effective_on) FROM ev
            WHERE ev.child_id = p.child_id AND ev.type = 'review_meeting_held' AND ev.effective_on >= y.y0),
           d.outcome, d.decided_on,
           (SELECT max(ev.effective_on) FROM ev
            WHERE ev.child_id = p.child_id AND ev.type = 'amendment_proposed' AND ev.effective_on >= y.y0),
           (SELECT max(dl.due_on) FROM cases r JOIN deadlines dl ON dl.case_id = r.id
            WHERE r.child_id = p.child_id AND r.workflow_id = 'annual-review'
              AND dl.deadline_key IN ('phase_transfer_due', 'post16_transfer_due') AND dl.status <> 'cancelled'),
           (SELECT max(ev.effective_on) FROM ev
            WHERE ev.child_id = p.child_id AND ev.type = 'amended_plan_issued'
              AND ev.f ->> 'names_next_setting' = 'true' AND ev.effective_on >= y.y0)
    FROM p
    CROSS JOIN y
    LEFT JOIN LATERAL (
        SELECT CASE ev.type WHEN 'cease_decision_notified' THEN 'cease' ELSE ev.f ->> 'decision' END AS outcome,
               ev.effective_on AS decided_on
        FROM ev
        WHERE ev.child_id = p.child_id AND ev.type IN ('review_decision_notified', 'cease_decision_notified')
          AND ev.effective_on >= y.y0
        ORDER BY ev.effective_on DESC
        LIMIT 1) d ON true
$$;

CREATE OR REPLACE FUNCTION ehc_sen2_return(p_authority_ids text, p_census_year int, p_module text)
RETURNS TABLE (case_ids bigint[], item jsonb)
LANGUAGE plpgsql
-- JIT compiling these large statements costs seconds and saves nothing at this size
SET jit = off AS $$
DECLARE
    v_ref date := ehc_sen2_reference_date(p_census_year);
    v_y0 date := make_date(p_census_year - 1, 1, 1);
BEGIN
    PERFORM set_config('ehc.authority_ids', p_authority_ids, true);
    IF p_module = 'person' THEN
        RETURN QUERY
        WITH k AS (
            SELECT q.child_id, q.case_id FROM ehc_sen2_request_rows(p_census_year) q
            UNION
            SELECT p.child_id, p.case_id FROM ehc_sen2_plan_rows(p_census_year) p
        )
        SELECT array_agg(k.case_id ORDER BY k.case_id),
               jsonb_build_object('PersonID', ch.id::text, 'Surname', ch.surname, 'Forename', ch.forename,
                                  'PersonBirthDate', ehc_sen2_iso(ch.date_of_birth), 'Sex', ch.sex,
                                  'Ethnicity', ch.ethnicity,
                                  'PostCode', CASE WHEN NOT ch.confidential_address THEN ch.postcode END,
                                  'UPN', ch.upn, 'UniqueLearnerNumber', ch.uln)
        FROM k JOIN children ch ON ch.id = k.child_id
        GROUP BY ch.id
        ORDER BY ch.id;
    ELSIF p_module = 'requests' THEN
        RETURN QUERY
        SELECT ARRAY[q.case_id],
               jsonb_build_object('PersonID', q.child_id::text, 'RequestID', q.reference,
                                  'ReceivedDate', ehc_sen2_iso(q.received_on), 'RequestSource', NULL,
                                  'RYA', q.rya, 'RequestOutcomeDate', ehc_sen2_iso(q.request_outcome_date),
                                  'RequestOutcome', q.request_outcome, 'RequestMediation', q.request_mediation,
                                  'RequestTribunal', q.request_tribunal)
        FROM ehc_sen2_request_rows(p_census_year) q
        ORDER BY q.case_id;
    ELSIF p_module = 'assessments' THEN
        RETURN QUERY
        SELECT ARRAY[q.case_id],
               jsonb_build_object('RequestID', q.reference, 'AssessmentOutcome', q.assessment_outcome,
                                  'AssessmentOutcomeDate', ehc_sen2_iso(q.assessment_outcome_date),
                                  'AssessmentMediation', q.assessment_mediation,
                                  'AssessmentTribunal', q.assessment_tribunal, 'OtherMediation', q.other_mediation,
                                  'OtherTribunal', q.other_tribunal, 'Week20', q.week20)
        FROM ehc_sen2_request_rows(p_census_year) q
        WHERE q.assessment_outcome IS NOT NULL
        ORDER BY q.case_id;
    ELSIF p_module = 'plans' THEN
        RETURN QUERY
        SELECT ARRAY[p.case_id],
               jsonb_build_object('RequestID', p.reference, 'StartDate', ehc_sen2_iso(p.start_on),
                                  'PlanRes', p.plan_res, 'PlanWBP', p.plan_wbp, 'PB', p.pb, 'OA', p.oa, 'DP', p.dp,
                                  'CeaseDate', ehc_sen2_iso(p.cease_on), 'CeaseReason', p.cease_reason)
        FROM ehc_sen2_plan_rows(p_census_year) p
        ORDER BY p.case_id;
    ELSIF p_module = 'placements' THEN
        RETURN QUERY
        SELECT ARRAY[p.case_id],
               jsonb_build_object('RequestID', p.reference, 'URN', pl.urn, 'UKPRN', pl.ukprn,
                                  'SENsetting', pl.sen_setting, 'PlacementRank', pl.rank::text,
                                  'SENUnitIndicator', pl.sen_unit::int::text,
                                  'ResourcedProvisionIndicator', pl.resourced_provision::int::text,
                                  'EntryDate', ehc_sen2_iso(pl.start_on), 'LeavingDate', ehc_sen2_iso(pl.end_on))
        FROM ehc_sen2_plan_rows(p_census_year) p
        JOIN placements pl ON pl.case_id = p.case_id
        WHERE pl.start_on <= v_ref AND (pl.end_on IS NULL OR pl.end_on >= v_y0)
        ORDER BY p.case_id, pl.rank, pl.id;
    ELSIF p_module = 'active_plans' THEN
        RETURN QUERY
        SELECT ARRAY[a.case_id],
               jsonb_build_object('RequestID', a.reference, 'TransferLA', a.transfer_la,
                                  'ReviewMeeting', ehc_sen2_iso(a.review_meeting_on),
                                  'ReviewOutcome', a.review_outcome,
                                  'ReviewDecisionDate', ehc_sen2_iso(a.review_decision_on),
                                  'DraftAmendedPlanDate', ehc_sen2_iso(a.draft_amended_on),
                                  'PhaseTransferDueDate', ehc_sen2_iso(a.phase_transfer_due_on),
                                  'PhaseTransferFinalDate', ehc_sen2_iso(a.phase_transfer_final_on))
        FROM ehc_sen2_active_rows(p_census_year) a
        ORDER BY a.case_id;
    ELSIF p_module = 'placement_detail' THEN
        RETURN QUERY
        SELECT ARRAY[a.case_id],
               jsonb_build_object('RequestID', a.reference, 'URN', pl.urn, 'UKPRN', pl.ukprn,
                                  'SENsetting', pl.sen_setting, 'PlacementRank', pl.rank::text,
                                  'SENUnitIndicator', pl.sen_unit::int::text,
                                  'ResourcedProvisionIndicator', pl.resourced_provision::int::text,
                                  'EntryDate', ehc_sen2_iso(pl.start_on))
        FROM ehc_sen2_active_rows(p_census_year) a
        JOIN placements pl ON pl.case_id = a.case_id
        WHERE pl.start_on <= v_ref AND (pl.end_on IS NULL OR pl.end_on >= v_ref)
        ORDER BY a.case_id, pl.rank, pl.id;
    ELSIF p_module = 'sen_need' THEN
        RETURN QUERY
        SELECT ARRAY[a.case_id],
               jsonb_build_object('PersonID', a.child_id::text, 'RequestID', a.reference, 'SENtype', n.sen_type,
                                  'SENtypeRank', n.rank::text)
        FROM ehc_sen2_active_rows(p_census_year) a
        JOIN child_needs n ON n.child_id = a.child_id
        ORDER BY a.case_id, n.rank;
    ELSE
        RAISE EXCEPTION 'unknown SEN2 module' USING ERRCODE = 'invalid_parameter_value';
    END IF;
END
$$;

CREATE OR REPLACE FUNCTION ehc_sen2_validate(p_authority_ids text, p_census_year int)
RETURNS TABLE (case_id bigint, reference text, module text, item text, problem text, message text)
LANGUAGE plpgsql
-- JIT compiling these large statements costs seconds and saves nothing at this size
SET jit = off AS $$
BEGIN
    PERFORM set_config('ehc.authority_ids', p_authority_ids, true);
    RETURN QUERY
    WITH q AS (
        SELECT q.*, (SELECT jsonb_object_agg(r.item, r.value) FROM case_report_codes r
                     WHERE r.case_id = q.case_id) AS codes
        FROM ehc_sen2_request_rows(p_census_year) q
    ), p AS (
        SELECT p.* FROM ehc_sen2_plan_rows(p_census_year) p
    ), findings (case_id, reference, module, item, problem, message) AS (
        -- codes out of range (as recorded, whatever the date)
        SELECT q.case_id, q.reference, 'requests', x.key, 'out_of_range',
               'code ' || x.key || ' is not one SEN2 allows'
        FROM q, jsonb_each_text(coalesce(q.codes, '{}'::jsonb)) x
        WHERE (x.key = 'RequestOutcome' AND x.value NOT IN ('Y', 'N', 'A', 'W', 'H'))
           OR (x.key IN ('RequestMediation', 'RequestTribunal') AND x.value NOT IN ('0', '1'))
        UNION ALL
        SELECT q.case_id, q.reference, 'assessments', x.key, 'out_of_range',
               'code ' || x.key || ' is not one SEN2 allows'
        FROM q, jsonb_each_text(coalesce(q.codes, '{}'::jsonb)) x
        WHERE (x.key = 'AssessmentOutcome' AND x.value NOT IN ('Y', 'N', 'A', 'W', 'H', 'S'))
           OR (x.key IN ('AssessmentMediation', 'AssessmentTribunal', 'OtherMediation', 'OtherTribunal', 'Week20')
               AND x.value NOT IN ('0', '1'))
        UNION ALL
        SELECT q.case_id, q.reference, CASE WHEN x.key LIKE 'Request%' THEN 'requests' ELSE 'assessments' END,
               x.key, 'out_of_range', x.key || ' is not a date'
        FROM q, jsonb_each_text(coalesce(q.codes, '{}'::jsonb)) x
        WHERE x.key IN ('RequestOutcomeDate', 'AssessmentOutcomeDate', 'StartDate', 'CeaseDate')
          AND ehc_sen2_date(x.value) IS NULL
        UNION ALL
        -- missing dates
        SELECT q.case_id, q.reference, 'requests', 'RequestOutcomeDate', 'missing_date',
               'the request was decided (' || q.request_outcome || ') but the date is missing'
        FROM q WHERE q.request_outcome IN ('Y', 'N', 'W', 'H') AND q.request_outcome_date IS NULL
        UNION ALL
        SELECT q.case_id, q.reference, 'assessments', 'AssessmentOutcomeDate', 'missing_date',
               'the assessment ended (' || q.assessment_outcome || ') but the date is missing'
        FROM q WHERE q.assessment_outcome IN ('Y', 'N', 'W', 'S', 'H') AND q.assessment_outcome_date IS NULL
        UNION ALL
        -- impossible sequences
        SELECT q.case_id, q.reference, 'requests', 'RequestOutcomeDate', 'before_request',
               'the request outcome date ' || ehc_sen2_iso(q.request_outcome_date)
                   || ' is before the request was received (' || ehc_sen2_iso(q.received_on) || ')'
        FROM q WHERE q.request_outcome_date < q.received_on
        UNION ALL
        SELECT q.case_id, q.reference, 'assessments', 'AssessmentOutcomeDate', 'before_decision',
               'the assessment outcome date ' || ehc_sen2_iso(q.assessment_outcome_date)
                   || ' is before the decision to assess (' || ehc_sen2_iso(q.request_outcome_date) || ')'
        FROM q WHERE q.assessment_outcome_date < q.request_outcome_date
        UNION ALL
        SELECT q.case_id, q.reference, 'assessments', 'AssessmentOutcome', 'without_assessment',
               'an assessment outcome is recorded but the request was not agreed (' || q.request_outcome || ')'
        FROM q WHERE q.request_outcome <> 'Y' AND q.codes ->> 'AssessmentOutcome' IS NOT NULL
                 AND (SELECT r.set_on FROM case_report_codes r
                      WHERE r.case_id = q.case_id AND r.item = 'AssessmentOutcome')
                     <= make_date(p_census_year - 1, 12, 31)
        UNION ALL
        SELECT p.case_id, p.reference, 'plans', 'StartDate', 'before_request',
               'the plan starts ' || ehc_sen2_iso(p.start_on) || ', before the request was received ('
                   || ehc_sen2_iso(p.opened_on) || ')'
        FROM p WHERE p.workflow_id = 'ehc-needs-assessment' AND p.start_on < p.opened_on
        UNION ALL
        SELECT p.case_id, p.reference, 'plans', 'CeaseReason', 'out_of_range',
               'CeaseReason must be 1 to 9'
        FROM p WHERE p.cease_reason IS NOT NULL AND p.cease_reason !~ '^[1-9]$'
        UNION ALL
        SELECT p.case_id, p.reference, 'plans', 'CeaseReason', 'missing_code',
               'the plan ceased but no reason is recorded'
        FROM p WHERE p.cease_on IS NOT NULL AND p.cease_reason IS NULL
        UNION ALL
        SELECT p.case_id, p.reference, 'plans', 'CeaseDate', 'before_start',
               'the plan ceases ' || ehc_sen2_iso(p.cease_on) || ', before it started (' || ehc_sen2_iso(p.start_on)
                   || ')'
        FROM p WHERE p.cease_on < p.start_on
        UNION ALL
        SELECT p.case_id, p.reference, 'plans', 'CeaseDate', 'missing_date',
               'a reason for ceasing is recorded (' || p.cease_reason || ') but not the date'
        FROM p WHERE p.cease_reason IS NOT NULL AND p.cease_on IS NULL
        UNION ALL
        SELECT p.case_id, p.reference, 'placements', 'URN', 'out_of_range',
               'a placement (rank ' || pl.rank || ') names ' || num_nonnulls(pl.urn, pl.ukprn, pl.sen_setting)
                   || ' of URN, UKPRN and SENsetting: it must name exactly one'
        FROM p JOIN placements pl ON pl.case_id = p.case_id
        WHERE num_nonnulls(pl.urn, pl.ukprn, pl.sen_setting) <> 1
        UNION ALL
        SELECT p.case_id, p.reference, 'placements', 'LeavingDate', 'before_entry',
               'a placement (rank ' || pl.rank || ') ends ' || ehc_sen2_iso(pl.end_on) || ', before it began ('
                   || ehc_sen2_iso(pl.start_on) || ')'
        FROM p JOIN placements pl ON pl.case_id = p.case_id
        WHERE pl.end_on < pl.start_on
        UNION ALL
        SELECT a.case_id, a.reference, 'sen_need', 'SENtype', 'missing_record',
               'the plan is active but the child''s main special educational need (SENtype rank 1) is not recorded'
        FROM ehc_sen2_active_rows(p_census_year) a
        WHERE NOT EXISTS (SELECT 1 FROM child_needs n WHERE n.child_id = a.child_id AND n.rank = 1)
        UNION ALL
        -- records the return needs
        SELECT p.case_id, p.reference, 'plans', 'PlanRes', 'missing_record',
               'a plan was issued but its details (PlanRes, PlanWBP, PB, OA, DP) are not recorded'
        FROM p WHERE p.plan_id IS NULL
        UNION ALL
        SELECT p.case_id, p.reference, 'placements', 'URN', 'missing_record',
               'the plan names no placement (URN, UKPRN or SENsetting)'
        FROM p WHERE p.cease_on IS NULL
                 AND NOT EXISTS (SELECT 1 FROM placements pl WHERE pl.case_id = p.case_id)
        UNION ALL
        SELECT k.case_id, k.reference, 'person', x.item, 'missing_item', x.item || ' is missing'
        FROM (SELECT q.case_id, q.reference, q.child_id FROM q
              UNION SELECT p.case_id, p.reference, p.child_id FROM p) k
        JOIN children ch ON ch.id = k.child_id
        CROSS JOIN LATERAL (VALUES ('Surname', ch.surname), ('Forename', ch.forename),
                                   ('PersonBirthDate', ehc_sen2_iso(ch.date_of_birth)), ('Sex', ch.sex)) x (item, v)
        WHERE x.v IS NULL
    )
    SELECT f.case_id, f.reference, f.module, f.item, f.problem, f.message
    FROM findings f
    ORDER BY f.case_id, f.module, f.item, f.problem;
END
$$;

-- Text as XML character data: & < > escaped, and the characters XML 1.0 cannot hold dropped.
CREATE FUNCTION ehc_sen2_xml_text(p text) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT replace(replace(replace(regexp_replace(p, '[\x01-\x08\x0B\x0C\x0E-\x1F\uFFFE\uFFFF]', '', 'g'),
                                   '&', '&amp;'), '<', '&lt;'), '>', '&gt;')
$$;

-- A module row's items as XML elements, in the module's order; empty items are left out, and so are
-- the items in p_skip (the keys the nesting already says).
CREATE FUNCTION ehc_sen2_xml_items(p_item jsonb, p_module text, p_skip text[]) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT coalesce(string_agg('<' || t.n || '>' || ehc_sen2_xml_text(p_item ->> t.n) || '</' || t.n || '>', ''
                               ORDER BY t.o), '')
    FROM unnest(ehc_sen2_items(p_module)) WITH ORDINALITY AS t (n, o)
    WHERE p_item ->> t.n IS NOT NULL AND t.n <> ALL (p_skip)
$$;

-- The whole return as one XML document, in pieces to be written in order (p_n): the declaration and
-- Header first, then one Person each (the person's items, then Requests, each Request holding its
-- Assessment, the NamedPlan and its PlanDetail, and the ActivePlans with their PlacementDetail and
-- SENneed). The caller closes </Persons></Message>. Every case exported is recorded in the access log,
-- in the same transaction.
CREATE FUNCTION ehc_sen2_xml(p_authority_ids text, p_census_year int, p_user_id bigint, p_request_id text)
RETURNS TABLE (n bigint, fragment text)
LANGUAGE plpgsql
-- JIT compiling these large statements costs seconds and saves nothing at this size
SET jit = off AS $$
BEGIN
    PERFORM set_config('ehc.authority_ids', p_authority_ids, true);
    RETURN QUERY
    WITH per AS MATERIALIZED (
        SELECT (r.item ->> 'PersonID')::bigint AS child_id, r.item FROM ehc_sen2_return(p_authority_ids, p_census_year, 'person') r
    ), rq AS MATERIALIZED (
        SELECT r.case_ids[1] AS case_id, r.item FROM ehc_sen2_return(p_authority_ids, p_census_year, 'requests') r
    ), asm AS MATERIALIZED (
        SELECT r.case_ids[1] AS case_id, r.item FROM ehc_sen2_return(p_authority_ids, p_census_year, 'assessments') r
    ), pl AS MATERIALIZED (
        SELECT r.case_ids[1] AS case_id, r.item FROM ehc_sen2_return(p_authority_ids, p_census_year, 'plans') r
    ), plc AS MATERIALIZED (
        SELECT r.case_ids[1] AS case_id,
               string_agg('<PlanDetail>' || ehc_sen2_xml_items(r.item, 'placements', ARRAY['RequestID'])
                          || '</PlanDetail>', '' ORDER BY r.o) AS x
        FROM ehc_sen2_return(p_authority_ids, p_census_year, 'placements') WITH ORDINALITY AS r (case_ids, item, o)
        GROUP BY r.case_ids[1]
    ), act AS MATERIALIZED (
        SELECT r.case_ids[1] AS case_id, r.item FROM ehc_sen2_return(p_authority_ids, p_census_year, 'active_plans') r
    ), pd AS MATERIALIZED (
        SELECT r.case_ids[1] AS case_id,
               string_agg('<PlacementDetail>' || ehc_sen2_xml_items(r.item, 'placement_detail', ARRAY['RequestID'])
                          || '</PlacementDetail>', '' ORDER BY r.o) AS x
        FROM ehc_sen2_return(p_authority_ids, p_census_year, 'placement_detail') WITH ORDINALITY AS r (case_ids, item, o)
        GROUP BY r.case_ids[1]
    ), nd AS MATERIALIZED (
        SELECT r.case_ids[1] AS case_id,
               string_agg('<SENneed>' || ehc_sen2_xml_items(r.item, 'sen_need', ARRAY['PersonID', 'RequestID'])
                          || '</SENneed>', '' ORDER BY r.o) AS x
        FROM ehc_sen2_return(p_authority_ids, p_census_year, 'sen_need') WITH ORDINALITY AS r (case_ids, item, o)
        GROUP BY r.case_ids[1]
    ), k AS (
        SELECT rq.case_id FROM rq UNION SELECT pl.case_id FROM pl
    ), req AS (
        SELECT c.child_id, c.id AS case_id,
               '<Request>'
               || coalesce(ehc_sen2_xml_items(rq.item, 'requests', ARRAY['PersonID']),
                           '<RequestID>' || ehc_sen2_xml_text(c.reference) || '</RequestID><ReceivedDate>'
                               || ehc_sen2_iso(c.opened_on) || '</ReceivedDate>')
               || CASE WHEN asm.item IS NOT NULL OR pl.item IS NOT NULL THEN
                      '<Assessment>' || coalesce(ehc_sen2_xml_items(asm.item, 'assessments', ARRAY['RequestID']), '')
                      || coalesce('<NamedPlan>' || ehc_sen2_xml_items(pl.item, 'plans', ARRAY['RequestID'])
                                  || coalesce(plc.x, '') || '</NamedPlan>', '')
                      || '</Assessment>' ELSE '' END
               || coalesce('<ActivePlans>' || ehc_sen2_xml_items(act.item, 'active_plans', ARRAY['RequestID'])
                           || coalesce(pd.x, '') || coalesce(nd.x, '') || '</ActivePlans>', '')
               || '</Request>' AS x
        FROM k
        JOIN cases c ON c.id = k.case_id
        LEFT JOIN rq ON rq.case_id = k.case_id
        LEFT JOIN asm ON asm.case_id = k.case_id
        LEFT JOIN pl ON pl.case_id = k.case_id
        LEFT JOIN plc ON plc.case_id = k.case_id
        LEFT JOIN act ON act.case_id = k.case_id
        LEFT JOIN pd ON pd.case_id = k.case_id
        LEFT JOIN nd ON nd.case_id = k.case_id
    ), person_requests AS (
        SELECT req.child_id, string_agg(req.x, '' ORDER BY req.case_id) AS x FROM req GROUP BY req.child_id
    ), logged AS (
        INSERT INTO access_log (authority_id, user_id, case_id, action, resource, request_id)
        SELECT c.authority_id, p_user_id, c.id, 'export', 'SEN2 ' || p_census_year || ' xml', p_request_id
        FROM cases c WHERE c.id IN (SELECT k.case_id FROM k)
    )
    SELECT 0::bigint,
           '<?xml version="1.0" encoding="UTF-8"?>' || chr(10) || '<Message><Header><CollectionDetails>'
           || '<Collection>SEN2</Collection><Year>' || p_census_year || '</Year><ReferenceDate>'
           || ehc_sen2_iso(ehc_sen2_reference_date(p_census_year)) || '</ReferenceDate></CollectionDetails>'
           || '<Source><SourceLevel>L</SourceLevel>'
           || coalesce((SELECT string_agg('<LEA>' || ehc_sen2_xml_text(a.dfe_code) || '</LEA>', '' ORDER BY a.dfe_code)
                        FROM local_authorities a
                        WHERE a.id = ANY (string_to_array(p_authority_ids, ',')::bigint[])), '')
           || '<SoftwareCode>ehcd</SoftwareCode><DateTime>' || to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS')
           || '</DateTime></Source></Header><Persons>'
    UNION ALL
    SELECT row_number() OVER (ORDER BY per.child_id),
           '<Person>' || ehc_sen2_xml_items(per.item, 'person', ARRAY[]::text[]) || '<Requests>'
           || coalesce(pr.x, '') || '</Requests></Person>'
    FROM per
    LEFT JOIN person_requests pr ON pr.child_id = per.child_id
    ORDER BY 1;
END
$$;

GRANT EXECUTE ON FUNCTION ehc_sen2_active_rows(int), ehc_sen2_xml_text(text), ehc_sen2_xml_items(jsonb, text, text[]),
    ehc_sen2_xml(text, int, bigint, text) TO ehc_app;
