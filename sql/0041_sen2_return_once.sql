-- The SEN2 return computed once (issue #9: each report of a large authority's year in under 2 seconds).
--
-- Until now the whole return as XML (0028) read every module through ehc_sen2_return, eight times over
-- the same request and plan rows (and the plan rows once more inside each active-plans module), and
-- then turned each module row's jsonb into elements one item at a time. Here:
--   ehc_sen2_active_of     module 5a for the plans given (their case ids), so that a caller holding the
--                          plan rows does not compute them again; each child's review and transfer
--                          events are read once and aggregated per child (the per-plan scans of every
--                          event before were quadratic in the number of plans)
--   ehc_sen2_active_rows   the same as before, through ehc_sen2_active_of
--   ehc_sen2_xml           the request, plan and active-plan rows computed once, each element written
--                          from its typed column (no jsonb between), the persons streamed in order;
--                          a Request without an active plan no longer has an empty <ActivePlans/>
--   ehc_sen2_validate      the request and plan rows computed once, the active plans from them
--   ehc_sen2_request_rows  the codes pivoted into columns in one grouped pass
--   ehc_sen2_plan_rows     the codes and the ceasing review joined, not looked up per case
--   ehc_sen2_date          inlinable (make_date instead of the STABLE text-to-date cast)
--   ehc_sen2_xml_text      a fast path for the text with nothing to escape (almost all of it)
-- What each item holds is unchanged (sql/0026_sen2.sql, 0028): tests/e2e/test_sen2.c checks every
-- module's items in JSON, CSV and the XML, and the validation's findings.

-- Text as XML character data: & < > escaped, and the characters XML 1.0 cannot hold dropped. Not
-- STRICT, so that it is inlined into the statements that call it (NULL gives NULL all the same).
CREATE OR REPLACE FUNCTION ehc_sen2_xml_text(p text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN p ~ '[&<>\x01-\x08\x0B\x0C\x0E-\x1F\uFFFE\uFFFF]' THEN
               replace(replace(replace(regexp_replace(p, '[\x01-\x08\x0B\x0C\x0E-\x1F\uFFFE\uFFFF]', '', 'g'),
                                       '&', '&amp;'), '<', '&lt;'), '>', '&gt;')
           ELSE p END
$$;

-- A code's text as a date, or NULL when it is not one (as in sql/0026), now built with make_date: the
-- text-to-date cast is only STABLE (it reads DateStyle), which kept this IMMUTABLE function from being
-- inlined, so that every call, NULL or not, went through the SQL function executor.
CREATE OR REPLACE FUNCTION ehc_sen2_date(p text) RETURNS date
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN p ~ '^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$' AND p !~ '^0000' THEN
               CASE WHEN substr(p, 9, 2)::int <= extract(day FROM make_date(substr(p, 1, 4)::int, substr(p, 6, 2)::int, 1)
                                                                + interval '1 month - 1 day')
                    THEN make_date(substr(p, 1, 4)::int, substr(p, 6, 2)::int, substr(p, 9, 2)::int) END
           END
$$;

-- Every request of the return (as in sql/0026): the codes it reads taken in one grouped pass, each
-- as a column (not a jsonb built per case and then looked into).
CREATE OR REPLACE FUNCTION ehc_sen2_request_rows(p_census_year int)
RETURNS TABLE (case_id bigint, authority_id bigint, reference text, child_id bigint, received_on date,
               rya text, request_outcome text, request_outcome_date date, request_mediation text,
               request_tribunal text, assessment_outcome text, assessment_outcome_date date,
               assessment_mediation text, assessment_tribunal text, other_mediation text,
               other_tribunal text, week20 text)
LANGUAGE sql STABLE AS $$
    WITH y AS (
        SELECT make_date(p_census_year - 1, 1, 1) AS y0, make_date(p_census_year - 1, 12, 31) AS y1
    ), k AS (
        SELECT r.case_id,
               min(r.value) FILTER (WHERE r.item = 'RequestOutcome') AS request_outcome,
               min(r.value) FILTER (WHERE r.item = 'RequestOutcomeDate') AS request_outcome_date,
               min(r.value) FILTER (WHERE r.item = 'RequestMediation') AS request_mediation,
               min(r.value) FILTER (WHERE r.item = 'RequestTribunal') AS request_tribunal,
               min(r.value) FILTER (WHERE r.item = 'AssessmentOutcome') AS assessment_outcome,
               min(r.value) FILTER (WHERE r.item = 'AssessmentOutcomeDate') AS assessment_outcome_date,
               min(r.value) FILTER (WHERE r.item = 'AssessmentMediation') AS assessment_mediation,
               min(r.value) FILTER (WHERE r.item = 'AssessmentTribunal') AS assessment_tribunal,
               min(r.value) FILTER (WHERE r.item = 'OtherMediation') AS other_mediation,
               min(r.value) FILTER (WHERE r.item = 'OtherTribunal') AS other_tribunal,
               min(r.value) FILTER (WHERE r.item = 'Week20') AS week20
        FROM case_report_codes r CROSS JOIN y
        WHERE r.set_on <= y.y1
          AND r.item IN ('RequestOutcome', 'RequestOutcomeDate', 'RequestMediation', 'RequestTribunal',
                         'AssessmentOutcome', 'AssessmentOutcomeDate', 'AssessmentMediation', 'AssessmentTribunal',
                         'OtherMediation', 'OtherTribunal', 'Week20')
        GROUP BY r.case_id
    ), c AS (
        SELECT c.id, c.authority_id, c.reference, c.child_id, c.opened_on, ch.young_person_acts_for_self,
               k.request_outcome, k.request_outcome_date, k.request_mediation, k.request_tribunal,
               k.assessment_outcome, k.assessment_outcome_date, k.assessment_mediation, k.assessment_tribunal,
               k.other_mediation, k.other_tribunal, k.week20
        FROM cases c
        JOIN children ch ON ch.id = c.child_id
        CROSS JOIN y
        LEFT JOIN k ON k.case_id = c.id
        WHERE c.workflow_id = 'ehc-needs-assessment' AND c.opened_on <= y.y1
    ), r AS (
        SELECT c.*, coalesce(c.request_outcome, 'A') AS ro, ehc_sen2_date(c.request_outcome_date) AS rod
        FROM c
    ), a AS (
        SELECT r.*, CASE WHEN r.ro = 'Y' THEN coalesce(r.assessment_outcome, 'A') END AS ao,
               CASE WHEN r.ro = 'Y' THEN ehc_sen2_date(r.assessment_outcome_date) END AS aod
        FROM r
    )
    SELECT a.id, a.authority_id, a.reference, a.child_id, a.opened_on,
           CASE WHEN a.young_person_acts_for_self THEN '1' ELSE '0' END,
           a.ro, CASE WHEN a.ro <> 'A' THEN a.rod END,
           coalesce(a.request_mediation, '0'), coalesce(a.request_tribunal, '0'),
           a.ao, CASE WHEN a.ao <> 'A' THEN a.aod END,
           CASE WHEN a.ao IS NOT NULL THEN coalesce(a.assessment_mediation, '0') END,
           CASE WHEN a.ao IS NOT NULL THEN coalesce(a.assessment_tribunal, '0') END,
           CASE WHEN a.ao IS NOT NULL THEN coalesce(a.other_mediation, '0') END,
           CASE WHEN a.ao IS NOT NULL THEN coalesce(a.other_tribunal, '0') END,
           CASE WHEN a.ao IN ('Y', 'S') THEN coalesce(a.week20, '0') END
    FROM a CROSS JOIN y
    -- open at some point of the year: received in it, or its last outcome not before it began
    WHERE a.opened_on >= y.y0
       OR (CASE WHEN a.ro IN ('N', 'W', 'H') THEN a.rod
                WHEN a.ro = 'Y' AND a.ao IN ('Y', 'N', 'W', 'S', 'H') THEN a.aod END) IS NULL
       OR (CASE WHEN a.ro IN ('N', 'W', 'H') THEN a.rod
                WHEN a.ro = 'Y' AND a.ao IN ('Y', 'N', 'W', 'S', 'H') THEN a.aod END) >= y.y0
$$;

-- Every named plan of the return (as in sql/0028): the StartDate, CeaseDate and CeaseReason codes read
-- in one grouped pass and joined (a subquery per case kept ehc_sen2_date from being inlined, and it
-- was then called as a function a dozen times a plan), and the child's later annual review that
-- ceased the plan found by one join.
CREATE OR REPLACE FUNCTION ehc_sen2_plan_rows(p_census_year int)
RETURNS TABLE (case_id bigint, authority_id bigint, reference text, child_id bigint, opened_on date,
               workflow_id text, plan_id bigint, start_on date, plan_res text, plan_wbp text, pb text, oa text,
               dp text, cease_on date, cease_reason text)
LANGUAGE sql STABLE AS $$
    WITH y AS (
        SELECT make_date(p_census_year - 1, 1, 1) AS y0, ehc_sen2_reference_date(p_census_year) AS ref
    ), k AS (
        SELECT r.case_id, min(r.value) FILTER (WHERE r.item = 'StartDate') AS start_code,
               min(r.value) FILTER (WHERE r.item = 'CeaseDate') AS cease_code,
               min(r.value) FILTER (WHERE r.item = 'CeaseReason') AS reason_code
        FROM case_report_codes r
        WHERE r.item IN ('StartDate', 'CeaseDate', 'CeaseReason')
        GROUP BY r.case_id
    ), c AS MATERIALIZED (
        SELECT c.id, c.authority_id, c.reference, c.child_id, c.opened_on, c.workflow_id, p.id AS plan_id,
               coalesce(p.start_on, ehc_sen2_date(k.start_code)) AS start_on,
               p.residential, p.work_based, p.personal_budget, p.organised_arrangements, p.direct_payments,
               coalesce(p.cease_on, ehc_sen2_date(k.cease_code)) AS own_cease_on,
               coalesce(p.cease_reason::text, k.reason_code) AS own_cease_reason
        FROM cases c
        LEFT JOIN plans p ON p.case_id = c.id
        LEFT JOIN k ON k.case_id = c.id
        WHERE p.id IS NOT NULL OR k.start_code IS NOT NULL
    ), rv AS (
        SELECT DISTINCT ON (c.id) c.id, d.value AS cease_on, e.value AS cease_reason
        FROM c
        JOIN cases r ON r.child_id = c.child_id AND r.workflow_id = 'annual-review' AND r.opened_on >= c.start_on
        JOIN case_report_codes d ON d.case_id = r.id AND d.item = 'CeaseDate'
        LEFT JOIN case_report_codes e ON e.case_id = r.id AND e.item = 'CeaseReason'
        ORDER BY c.id, r.opened_on DESC, r.id DESC
    ), s AS (
        SELECT c.*, coalesce(c.own_cease_on, ehc_sen2_date(rv.cease_on)) AS cease_on,
               coalesce(c.own_cease_reason, rv.cease_reason) AS cease_reason
        FROM c
        LEFT JOIN rv ON rv.id = c.id
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

-- A code as XML character data, escaped unless the caller knows it plain (nothing to escape in it).
CREATE FUNCTION ehc_sen2_xml_code(p_plain boolean, p text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN p_plain THEN p ELSE ehc_sen2_xml_text(p) END
$$;

-- Module 5a for the plans of the return given by their case ids (those not ceased by the reference
-- date): what the child's review and transfer cases say (see the top of sql/0028). Every child's
-- review and transfer events are aggregated once and joined to the plans by child (the planner
-- cannot know how many plans an array holds, and probing the cases of each plan's child one by one
-- cost more than reading them all).
CREATE FUNCTION ehc_sen2_active_of(p_census_year int, p_case_ids bigint[])
RETURNS TABLE (case_id bigint, authority_id bigint, reference text, child_id bigint, transfer_la text,
               review_meeting_on date, review_outcome text, review_decision_on date, draft_amended_on date,
               phase_transfer_due_on date, phase_transfer_final_on date)
LANGUAGE sql STABLE AS $$
    WITH y AS (
        SELECT make_date(p_census_year - 1, 1, 1) AS y0, ehc_sen2_reference_date(p_census_year) AS ref
    ), p AS MATERIALIZED (
        -- joined, not c.id = ANY (p_case_ids): an array parameter is searched from the start for each case
        SELECT c.id AS case_id, c.authority_id, c.reference, c.child_id
        FROM cases c
        JOIN (SELECT DISTINCT u.id FROM unnest(p_case_ids) AS u (id)) u ON u.id = c.id
    ), ev AS MATERIALIZED (
        SELECT r.child_id, e.type, e.effective_on, e.seq, r.id AS review_case_id, e.payload -> 'fields' AS f
        FROM cases r
        JOIN case_events e ON e.case_id = r.id
        CROSS JOIN y
        WHERE r.workflow_id IN ('annual-review', 'transfer-in') AND e.effective_on <= y.ref
          AND e.type IN ('transfer_notified', 'review_meeting_held', 'review_decision_notified',
                         'cease_decision_notified', 'amendment_proposed', 'amended_plan_issued')
          AND NOT EXISTS (SELECT 1 FROM case_events s WHERE s.case_id = e.case_id AND s.supersedes_seq = e.seq)
    ), per_child AS (
        SELECT ev.child_id,
               (array_agg(ev.f ->> 'old_authority' ORDER BY ev.effective_on DESC, ev.review_case_id DESC, ev.seq DESC)
                    FILTER (WHERE ev.type = 'transfer_notified'))[1] AS transfer_la,
               max(ev.effective_on) FILTER (WHERE ev.type = 'review_meeting_held' AND ev.effective_on >= y.y0)
                   AS review_meeting_on,
               (array_agg(CASE ev.type WHEN 'cease_decision_notified' THEN 'cease' ELSE ev.f ->> 'decision' END
                          ORDER BY ev.effective_on DESC, ev.review_case_id DESC, ev.seq DESC)
                    FILTER (WHERE ev.type IN ('review_decision_notified', 'cease_decision_notified')
                                  AND ev.effective_on >= y.y0))[1] AS review_outcome,
               max(ev.effective_on) FILTER (WHERE ev.type IN ('review_decision_notified', 'cease_decision_notified')
                                                  AND ev.effective_on >= y.y0) AS review_decision_on,
               max(ev.effective_on) FILTER (WHERE ev.type = 'amendment_proposed' AND ev.effective_on >= y.y0)
                   AS draft_amended_on,
               max(ev.effective_on) FILTER (WHERE ev.type = 'amended_plan_issued'
                                                  AND ev.f ->> 'names_next_setting' = 'true'
                                                  AND ev.effective_on >= y.y0) AS phase_transfer_final_on
        FROM ev CROSS JOIN y
        GROUP BY ev.child_id
    ), due AS (
        SELECT r.child_id, max(dl.due_on) AS due_on
        FROM cases r JOIN deadlines dl ON dl.case_id = r.id
        WHERE r.workflow_id = 'annual-review'
          AND dl.deadline_key IN ('phase_transfer_due', 'post16_transfer_due') AND dl.status <> 'cancelled'
        GROUP BY r.child_id
    )
    SELECT p.case_id, p.authority_id, p.reference, p.child_id, k.transfer_la, k.review_meeting_on,
           k.review_outcome, k.review_decision_on, k.draft_amended_on, due.due_on, k.phase_transfer_final_on
    FROM p
    LEFT JOIN per_child k ON k.child_id = p.child_id
    LEFT JOIN due ON due.child_id = p.child_id
$$;

CREATE OR REPLACE FUNCTION ehc_sen2_active_rows(p_census_year int)
RETURNS TABLE (case_id bigint, authority_id bigint, reference text, child_id bigint, transfer_la text,
               review_meeting_on date, review_outcome text, review_decision_on date, draft_amended_on date,
               phase_transfer_due_on date, phase_transfer_final_on date)
LANGUAGE sql STABLE AS $$
    SELECT a.* FROM ehc_sen2_active_of(p_census_year, ARRAY(SELECT p.case_id FROM ehc_sen2_plan_rows(p_census_year) p
                                                           WHERE p.cease_on IS NULL)) a
$$;

-- The whole return as one XML document, in pieces to be written in order (p_n): the declaration and
-- Header first, then one Person each, in PersonID order (the person's items, then Requests, each Request
-- holding its Assessment, the NamedPlan and its PlanDetail, and the ActivePlans with their
-- PlacementDetail and SENneed). Empty items are left out, and so are the keys the nesting says. The
-- caller closes </Persons></Message>. Every case exported is recorded in the access log, in the same
-- transaction.
CREATE OR REPLACE FUNCTION ehc_sen2_xml(p_authority_ids text, p_census_year int, p_user_id bigint,
                                        p_request_id text)
RETURNS TABLE (n bigint, fragment text)
LANGUAGE plpgsql
-- JIT compiling these large statements costs seconds and saves nothing at this size
SET jit = off AS $$
DECLARE
    v_ref date := ehc_sen2_reference_date(p_census_year);
    v_y0 date := make_date(p_census_year - 1, 1, 1);
BEGIN
    PERFORM set_config('ehc.authority_ids', p_authority_ids, true);
    RETURN QUERY
    WITH q AS MATERIALIZED (
        -- plain: none of the request's codes holds a character to escape (one test, not one a code)
        SELECT q.*, concat(q.request_outcome, q.request_mediation, q.request_tribunal, q.assessment_outcome,
                           q.assessment_mediation, q.assessment_tribunal, q.other_mediation, q.other_tribunal,
                           q.week20) !~ '[&<>\x01-\x08\x0B\x0C\x0E-\x1F\uFFFE\uFFFF]' AS plain
        FROM ehc_sen2_request_rows(p_census_year) q
    ), p AS MATERIALIZED (
        SELECT * FROM ehc_sen2_plan_rows(p_census_year)
    ), a AS MATERIALIZED (
        SELECT * FROM ehc_sen2_active_of(p_census_year, ARRAY(SELECT p.case_id FROM p WHERE p.cease_on IS NULL))
    ), k AS MATERIALIZED (
        SELECT q.case_id, q.child_id FROM q UNION SELECT p.case_id, p.child_id FROM p
    ), plc AS (
        SELECT pl.case_id,
               string_agg('<PlanDetail>' || coalesce('<URN>' || pl.urn || '</URN>', '')
                          || coalesce('<UKPRN>' || pl.ukprn || '</UKPRN>', '')
                          || coalesce('<SENsetting>' || pl.sen_setting || '</SENsetting>', '')
                          || '<PlacementRank>' || pl.rank || '</PlacementRank>'
                          || '<SENUnitIndicator>' || pl.sen_unit::int || '</SENUnitIndicator>'
                          || '<ResourcedProvisionIndicator>' || pl.resourced_provision::int
                          || '</ResourcedProvisionIndicator>'
                          || '<EntryDate>' || ehc_sen2_iso(pl.start_on) || '</EntryDate>'
                          || coalesce('<LeavingDate>' || ehc_sen2_iso(pl.end_on) || '</LeavingDate>', '')
                          || '</PlanDetail>', '' ORDER BY pl.rank, pl.id) AS x
        FROM p JOIN placements pl ON pl.case_id = p.case_id
        WHERE pl.start_on <= v_ref AND (pl.end_on IS NULL OR pl.end_on >= v_y0)
        GROUP BY pl.case_id
    ), pd AS (
        SELECT pl.case_id,
               string_agg('<PlacementDetail>' || coalesce('<URN>' || pl.urn || '</URN>', '')
                          || coalesce('<UKPRN>' || pl.ukprn || '</UKPRN>', '')
                          || coalesce('<SENsetting>' || pl.sen_setting || '</SENsetting>', '')
                          || '<PlacementRank>' || pl.rank || '</PlacementRank>'
                          || '<SENUnitIndicator>' || pl.sen_unit::int || '</SENUnitIndicator>'
                          || '<ResourcedProvisionIndicator>' || pl.resourced_provision::int
                          || '</ResourcedProvisionIndicator>'
                          || '<EntryDate>' || ehc_sen2_iso(pl.start_on) || '</EntryDate>'
                          || '</PlacementDetail>', '' ORDER BY pl.rank, pl.id) AS x
        FROM a JOIN placements pl ON pl.case_id = a.case_id
        WHERE pl.start_on <= v_ref AND (pl.end_on IS NULL OR pl.end_on >= v_ref)
        GROUP BY pl.case_id
    ), nd AS (
        SELECT a.case_id,
               string_agg('<SENneed><SENtype>' || nd.sen_type || '</SENtype><SENtypeRank>'
                          || nd.rank || '</SENtypeRank></SENneed>', '' ORDER BY nd.rank) AS x
        FROM a JOIN child_needs nd ON nd.child_id = a.child_id
        GROUP BY a.case_id
    ), req AS (
        SELECT k.child_id, k.case_id,
               '<Request><RequestID>' || coalesce(q.reference, p.reference) || '</RequestID><ReceivedDate>'
               || ehc_sen2_iso(coalesce(q.received_on, p.opened_on)) || '</ReceivedDate>'
               || coalesce('<RYA>' || q.rya || '</RYA>', '')
               || coalesce('<RequestOutcomeDate>' || ehc_sen2_iso(q.request_outcome_date) || '</RequestOutcomeDate>', '')
               || coalesce('<RequestOutcome>' || ehc_sen2_xml_code(q.plain, q.request_outcome) || '</RequestOutcome>', '')
               || coalesce('<RequestMediation>' || ehc_sen2_xml_code(q.plain, q.request_mediation) || '</RequestMediation>', '')
               || coalesce('<RequestTribunal>' || ehc_sen2_xml_code(q.plain, q.request_tribunal) || '</RequestTribunal>', '')
               || CASE WHEN q.assessment_outcome IS NOT NULL OR p.case_id IS NOT NULL THEN
                      '<Assessment>'
                      || coalesce('<AssessmentOutcome>' || ehc_sen2_xml_code(q.plain, q.assessment_outcome)
                                  || '</AssessmentOutcome>', '')
                      || coalesce('<AssessmentOutcomeDate>' || ehc_sen2_iso(q.assessment_outcome_date)
                                  || '</AssessmentOutcomeDate>', '')
                      || coalesce('<AssessmentMediation>' || ehc_sen2_xml_code(q.plain, q.assessment_mediation)
                                  || '</AssessmentMediation>', '')
                      || coalesce('<AssessmentTribunal>' || ehc_sen2_xml_code(q.plain, q.assessment_tribunal)
                                  || '</AssessmentTribunal>', '')
                      || coalesce('<OtherMediation>' || ehc_sen2_xml_code(q.plain, q.other_mediation) || '</OtherMediation>', '')
                      || coalesce('<OtherTribunal>' || ehc_sen2_xml_code(q.plain, q.other_tribunal) || '</OtherTribunal>', '')
                      || coalesce('<Week20>' || ehc_sen2_xml_code(q.plain, q.week20) || '</Week20>', '')
                      || CASE WHEN p.case_id IS NOT NULL THEN
                             '<NamedPlan><StartDate>' || ehc_sen2_iso(p.start_on) || '</StartDate>'
                             || coalesce('<PlanRes>' || p.plan_res || '</PlanRes>', '')
                             || coalesce('<PlanWBP>' || p.plan_wbp || '</PlanWBP>', '')
                             || coalesce('<PB>' || p.pb || '</PB>', '')
                             || coalesce('<OA>' || p.oa || '</OA>', '')
                             || coalesce('<DP>' || p.dp || '</DP>', '')
                             || coalesce('<CeaseDate>' || ehc_sen2_iso(p.cease_on) || '</CeaseDate>', '')
                             || coalesce('<CeaseReason>' || ehc_sen2_xml_text(p.cease_reason) || '</CeaseReason>', '')
                             || coalesce(plc.x, '') || '</NamedPlan>'
                         ELSE '' END
                      || '</Assessment>'
                  ELSE '' END
               || CASE WHEN a.case_id IS NOT NULL THEN
                      '<ActivePlans>'
                      || coalesce('<TransferLA>' || ehc_sen2_xml_text(a.transfer_la) || '</TransferLA>', '')
                      || coalesce('<ReviewMeeting>' || ehc_sen2_iso(a.review_meeting_on) || '</ReviewMeeting>', '')
                      || coalesce('<ReviewOutcome>' || ehc_sen2_xml_text(a.review_outcome) || '</ReviewOutcome>', '')
                      || coalesce('<ReviewDecisionDate>' || ehc_sen2_iso(a.review_decision_on)
                                  || '</ReviewDecisionDate>', '')
                      || coalesce('<DraftAmendedPlanDate>' || ehc_sen2_iso(a.draft_amended_on)
                                  || '</DraftAmendedPlanDate>', '')
                      || coalesce('<PhaseTransferDueDate>' || ehc_sen2_iso(a.phase_transfer_due_on)
                                  || '</PhaseTransferDueDate>', '')
                      || coalesce('<PhaseTransferFinalDate>' || ehc_sen2_iso(a.phase_transfer_final_on)
                                  || '</PhaseTransferFinalDate>', '')
                      || coalesce(pd.x, '') || coalesce(nd.x, '') || '</ActivePlans>'
                  ELSE '' END
               || '</Request>' AS x
        FROM k
        LEFT JOIN q ON q.case_id = k.case_id
        LEFT JOIN p ON p.case_id = k.case_id
        LEFT JOIN plc ON plc.case_id = k.case_id
        LEFT JOIN a ON a.case_id = k.case_id
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
           || ehc_sen2_iso(v_ref) || '</ReferenceDate></CollectionDetails>'
           || '<Source><SourceLevel>L</SourceLevel>'
           || coalesce((SELECT string_agg('<LEA>' || ehc_sen2_xml_text(la.dfe_code) || '</LEA>', '' ORDER BY la.dfe_code)
                        FROM local_authorities la
                        WHERE la.id = ANY (string_to_array(p_authority_ids, ',')::bigint[])), '')
           || '<SoftwareCode>ehcd</SoftwareCode><DateTime>' || to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS')
           || '</DateTime></Source></Header><Persons>'
    UNION ALL
    SELECT row_number() OVER (ORDER BY ch.id),
           '<Person><PersonID>' || ch.id || '</PersonID>'
           || coalesce('<Surname>' || ehc_sen2_xml_text(ch.surname) || '</Surname>', '')
           || coalesce('<Forename>' || ehc_sen2_xml_text(ch.forename) || '</Forename>', '')
           || coalesce('<PersonBirthDate>' || ehc_sen2_iso(ch.date_of_birth) || '</PersonBirthDate>', '')
           || coalesce('<Sex>' || ch.sex || '</Sex>', '')
           || coalesce('<Ethnicity>' || ch.ethnicity || '</Ethnicity>', '')
           || CASE WHEN NOT ch.confidential_address THEN
                  coalesce('<PostCode>' || ch.postcode || '</PostCode>', '') ELSE '' END
           || coalesce('<UPN>' || ch.upn || '</UPN>', '')
           || coalesce('<UniqueLearnerNumber>' || ch.uln || '</UniqueLearnerNumber>', '')
           || '<Requests>' || pr.x || '</Requests></Person>'
    FROM person_requests pr
    JOIN children ch ON ch.id = pr.child_id
    ORDER BY 1;
END
$$;

-- What an officer must fix before the return is sent (as in sql/0028): the request and plan rows
-- computed once, the codes checked read once from case_report_codes (not aggregated per case and
-- unnested three times), the active plans from the plan rows, and the person items looked at only for
-- the children missing one.
CREATE OR REPLACE FUNCTION ehc_sen2_validate(p_authority_ids text, p_census_year int)
RETURNS TABLE (case_id bigint, reference text, module text, item text, problem text, message text)
LANGUAGE plpgsql
-- JIT compiling these large statements costs seconds and saves nothing at this size
SET jit = off AS $$
BEGIN
    PERFORM set_config('ehc.authority_ids', p_authority_ids, true);
    RETURN QUERY
    WITH q AS MATERIALIZED (
        SELECT q.* FROM ehc_sen2_request_rows(p_census_year) q
    ), qc AS MATERIALIZED (
        -- the codes of the requests checked below, as recorded whatever the date
        SELECT q.case_id, q.reference, r.item AS key, r.value
        FROM q JOIN case_report_codes r ON r.case_id = q.case_id
        WHERE r.item IN ('RequestOutcome', 'RequestMediation', 'RequestTribunal', 'AssessmentOutcome',
                         'AssessmentMediation', 'AssessmentTribunal', 'OtherMediation', 'OtherTribunal', 'Week20',
                         'RequestOutcomeDate', 'AssessmentOutcomeDate', 'StartDate', 'CeaseDate')
    ), p AS MATERIALIZED (
        SELECT p.* FROM ehc_sen2_plan_rows(p_census_year) p
    ), a AS MATERIALIZED (
        SELECT a.* FROM ehc_sen2_active_of(p_census_year, ARRAY(SELECT p.case_id FROM p WHERE p.cease_on IS NULL)) a
    ), findings (case_id, reference, module, item, problem, message) AS (
        -- codes out of range (as recorded, whatever the date)
        SELECT x.case_id, x.reference, 'requests', x.key, 'out_of_range',
               'code ' || x.key || ' is not one SEN2 allows'
        FROM qc x
        WHERE (x.key = 'RequestOutcome' AND x.value NOT IN ('Y', 'N', 'A', 'W', 'H'))
           OR (x.key IN ('RequestMediation', 'RequestTribunal') AND x.value NOT IN ('0', '1'))
        UNION ALL
        SELECT x.case_id, x.reference, 'assessments', x.key, 'out_of_range',
               'code ' || x.key || ' is not one SEN2 allows'
        FROM qc x
        WHERE (x.key = 'AssessmentOutcome' AND x.value NOT IN ('Y', 'N', 'A', 'W', 'H', 'S'))
           OR (x.key IN ('AssessmentMediation', 'AssessmentTribunal', 'OtherMediation', 'OtherTribunal', 'Week20')
               AND x.value NOT IN ('0', '1'))
        UNION ALL
        SELECT x.case_id, x.reference, CASE WHEN x.key LIKE 'Request%' THEN 'requests' ELSE 'assessments' END,
               x.key, 'out_of_range', x.key || ' is not a date'
        FROM qc x
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
        FROM q WHERE q.request_outcome <> 'Y'
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
        FROM a
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
                        AND (ch.surname IS NULL OR ch.forename IS NULL OR ch.date_of_birth IS NULL OR ch.sex IS NULL)
        CROSS JOIN LATERAL (VALUES ('Surname', ch.surname), ('Forename', ch.forename),
                                   ('PersonBirthDate', ehc_sen2_iso(ch.date_of_birth)), ('Sex', ch.sex)) x (item, v)
        WHERE x.v IS NULL
    )
    SELECT f.case_id, f.reference, f.module, f.item, f.problem, f.message
    FROM findings f
    ORDER BY f.case_id, f.module, f.item, f.problem;
END
$$;

GRANT EXECUTE ON FUNCTION ehc_sen2_active_of(int, bigint[]), ehc_sen2_xml_code(boolean, text) TO ehc_app;
