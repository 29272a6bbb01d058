-- The SEN2 person-level return (statute.md §7): for a census year, the rows of each module, every
-- item mapped from the case, the child, the SEN2 codes the workflow set (case_report_codes) and the
-- plan and placement records; and a validation listing what an officer must fix before sending it.
--
-- Dates. The reference (census) date is taken as 18 January of the census year: statute.md gives
-- only "a January reference date", and the DfE's usual day (the third Thursday) is not verified
-- there. Activity is the previous calendar year: a request is in the return when it was received by
-- 31 December and was open at some point of that year (received in it, or still undecided at its
-- start, or decided in it). An outcome recorded after 31 December is reported as still pending (A),
-- as the return describes the year. A named plan is in the return when it started by the reference
-- date and had not ceased before the year began (the January caseload and the year's ceased plans).
--
-- Modules (p_module): person (1), requests (2), assessments (3), plans (4a), placements (4b).
-- Items not recorded anywhere are left empty: RequestSource (its codes are unverified, statute.md
-- §7). RYA is taken from the child's record (a young person making their own request, CFA s80);
-- unverified against the DfE guide. A postcode under a confidential address is not exported.

CREATE FUNCTION ehc_sen2_reference_date(p_census_year int) RETURNS date
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT make_date(p_census_year, 1, 18)
$$;

-- A code's text as a date, or NULL when it is not one (a bad code is a finding, not an error). In SQL
-- so that it is inlined; each arm of the CASE is only reached when the one before has held.
CREATE FUNCTION ehc_sen2_date(p text) RETURNS date
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN p ~ '^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$' AND p !~ '^0000' THEN
               CASE WHEN substr(p, 9, 2)::int <= extract(day FROM make_date(substr(p, 1, 4)::int, substr(p, 6, 2)::int, 1)
                                                                + interval '1 month - 1 day')
                    THEN p::date END
           END
$$;

CREATE FUNCTION ehc_sen2_iso(p date) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT to_char(p, 'YYYY-MM-DD')
$$;

-- The item names of a module, in the order of the CSV's columns; NULL for an unknown module.
CREATE FUNCTION ehc_sen2_items(p_module text) RETURNS text[]
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
    END
$$;

-- Every request of the return, with its codes as they stood at the end of the activity year.
-- Runs under the caller's row-level security (the authorities the transaction is bound to).
CREATE FUNCTION ehc_sen2_request_rows(p_census_year int)
RETURNS TABLE (case_id bigint, authority_id bigint, reference text, child_id bigint, received_on date,
               rya text, request_outcome text, request_outcome_date date, request_mediation text,
               request_tribunal text, assessment_outcome text, assessment_outcome_date date,
               assessment_mediation text, assessment_tribunal text, other_mediation text,
               other_tribunal text, week20 text)
LANGUAGE sql STABLE AS $$
    WITH y AS (
        SELECT make_date(p_census_year - 1, 1, 1) AS y0, make_date(p_census_year - 1, 12, 31) AS y1
    ), c AS (
        SELECT c.id, c.authority_id, c.reference, c.child_id, c.opened_on, ch.young_person_acts_for_self,
               coalesce(k.codes, '{}'::jsonb) AS codes
        FROM cases c
        JOIN children ch ON ch.id = c.child_id
        CROSS JOIN y
        LEFT JOIN LATERAL (SELECT jsonb_object_agg(r.item, r.value) AS codes FROM case_report_codes r
                           WHERE r.case_id = c.id AND r.set_on <= y.y1) k ON true
        WHERE c.workflow_id = 'ehc-needs-assessment' AND c.opened_on <= y.y1
    ), r AS (
        SELECT c.*, coalesce(c.codes ->> 'RequestOutcome', 'A') AS ro,
               ehc_sen2_date(c.codes ->> 'RequestOutcomeDate') AS rod
        FROM c
    ), a AS (
        SELECT r.*, CASE WHEN r.ro = 'Y' THEN coalesce(r.codes ->> 'AssessmentOutcome', 'A') END AS ao,
               CASE WHEN r.ro = 'Y' THEN ehc_sen2_date(r.codes ->> 'AssessmentOutcomeDate') END AS aod
        FROM r
    )
    SELECT a.id, a.authority_id, a.reference, a.child_id, a.opened_on,
           CASE WHEN a.young_person_acts_for_self THEN '1' ELSE '0' END,
           a.ro, CASE WHEN a.ro <> 'A' THEN a.rod END,
           coalesce(a.codes ->> 'RequestMediation', '0'), coalesce(a.codes ->> 'RequestTribunal', '0'),
           a.ao, CASE WHEN a.ao <> 'A' THEN a.aod END,
           CASE WHEN a.ao IS NOT NULL THEN coalesce(a.codes ->> 'AssessmentMediation', '0') END,
           CASE WHEN a.ao IS NOT NULL THEN coalesce(a.codes ->> 'AssessmentTribunal', '0') END,
           CASE WHEN a.ao IS NOT NULL THEN coalesce(a.codes ->> 'OtherMediation', '0') END,
           CASE WHEN a.ao IS NOT NULL THEN coalesce(a.codes ->> 'OtherTribunal', '0') END,
           CASE WHEN a.ao IN ('Y', 'S') THEN coalesce(a.codes ->> 'Week20', '0') END
    FROM a CROSS JOIN y
    -- open at some point of the year: received in it, or its last outcome not before it began
    WHERE a.opened_on >= y.y0
       OR (CASE WHEN a.ro IN ('N', 'W', 'H') THEN a.rod
                WHEN a.ro = 'Y' AND a.ao IN ('Y', 'N', 'W', 'S', 'H') THEN a.aod END) IS NULL
       OR (CASE WHEN a.ro IN ('N', 'W', 'H') THEN a.rod
                WHEN a.ro = 'Y' AND a.ao IN ('Y', 'N', 'W', 'S', 'H') THEN a.aod END) >= y.y0
$$;

-- Every named plan of the return: a plan record, or the StartDate a final plan set.
CREATE FUNCTION ehc_sen2_plan_rows(p_census_year int)
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
               coalesce(p.cease_on, ehc_sen2_date((SELECT r.value FROM case_report_codes r
                                                   WHERE r.case_id = c.id AND r.item = 'CeaseDate'))) AS cease_on,
               coalesce(p.cease_reason::text, (SELECT r.value FROM case_report_codes r
                                               WHERE r.case_id = c.id AND r.item = 'CeaseReason')) AS cease_reason
        FROM cases c
        LEFT JOIN plans p ON p.case_id = c.id
    )
    SELECT c.id, c.authority_id, c.reference, c.child_id, c.opened_on, c.workflow_id, c.plan_id, c.start_on,
           CASE WHEN c.plan_id IS NOT NULL THEN c.residential::int::text END,
           CASE WHEN c.plan_id IS NOT NULL THEN c.work_based::int::text END,
           CASE WHEN c.plan_id IS NOT NULL THEN c.personal_budget::int::text END,
           CASE WHEN c.plan_id IS NOT NULL THEN c.organised_arrangements::int::text END,
           CASE WHEN c.plan_id IS NOT NULL THEN c.direct_payments::int::text END,
           CASE WHEN c.cease_on <= y.ref THEN c.cease_on END,
           CASE WHEN c.cease_on <= y.ref THEN c.cease_reason END
    FROM c CROSS JOIN y
    WHERE c.start_on <= y.ref AND (c.cease_on IS NULL OR c.cease_on >= y.y0)
$$;

-- The rows of one module of the return for the authorities given, each with the cases it tells of
-- (for the access log). Raises invalid_parameter_value for an unknown module.
CREATE FUNCTION ehc_sen2_return(p_authority_ids text, p_census_year int, p_module text)
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
    ELSE
        RAISE EXCEPTION 'unknown SEN2 module' USING ERRCODE = 'invalid_parameter_value';
    END IF;
END
$$;

-- One module as one document for the API ({census_year, reference_date, module, items, rows}), every
-- case it tells of recorded in the access log as exported, in the same transaction.
CREATE FUNCTION ehc_sen2_export(p_authority_ids text, p_census_year int, p_module text, p_user_id bigint,
                                p_request_id text)
RETURNS jsonb
LANGUAGE plpgsql
-- JIT compiling these large statements costs seconds and saves nothing at this size
SET jit = off AS $$
DECLARE
    v jsonb;
BEGIN
    -- bound before the statement, so that the access log's policy admits the lines it writes
    PERFORM set_config('ehc.authority_ids', p_authority_ids, true);
    WITH r AS (
        SELECT t.case_ids, t.item, t.n FROM ehc_sen2_return(p_authority_ids, p_census_year, p_module)
            WITH ORDINALITY AS t (case_ids, item, n)
    ), logged AS (
        INSERT INTO access_log (authority_id, user_id, case_id, action, resource, request_id)
        SELECT c.authority_id, p_user_id, c.id, 'export', 'SEN2 ' || p_census_year || ' ' || p_module, p_request_id
        FROM cases c WHERE c.id IN (SELECT unnest(r.case_ids) FROM r)
    )
    SELECT jsonb_build_object('census_year', p_census_year,
                              'reference_date', ehc_sen2_iso(ehc_sen2_reference_date(p_census_year)),
                              'module', p_module, 'items', to_jsonb(ehc_sen2_items(p_module)),
                              'rows', coalesce(jsonb_agg(r.item ORDER BY r.n), '[]'::jsonb))
    INTO v FROM r;
    RETURN v;
END
$$;

-- What an officer must fix before the return is sent: missing dates, impossible sequences, codes out
-- of range, and records the return needs but the case lacks; one row per finding, with the case.
CREATE FUNCTION ehc_sen2_validate(p_authority_ids text, p_census_year int)
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

-- The validation as one document for the API.
CREATE FUNCTION ehc_sen2_validation(p_authority_ids text, p_census_year int) RETURNS jsonb
LANGUAGE sql AS $$
    SELECT jsonb_build_object('census_year', p_census_year,
                              'reference_date', ehc_sen2_iso(ehc_sen2_reference_date(p_census_year)),
                              'findings', coalesce(jsonb_agg(to_jsonb(v) ORDER BY v.case_id, v.module, v.item,
                                                                           v.problem), '[]'::jsonb))
    FROM ehc_sen2_validate(p_authority_ids, p_census_year) v
$$;

GRANT EXECUTE ON FUNCTION ehc_sen2_reference_date(int), ehc_sen2_date(text), ehc_sen2_iso(date),
    ehc_sen2_items(text), ehc_sen2_request_rows(int), ehc_sen2_plan_rows(int), ehc_sen2_return(text, int, text),
    ehc_sen2_export(text, int, text, bigint, text), ehc_sen2_validate(text, int), ehc_sen2_validation(text, int)
    TO ehc_app;
