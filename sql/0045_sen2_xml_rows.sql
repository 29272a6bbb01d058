-- The SEN2 return as XML, computed in SQL and written by ehcd (issue #9: a year of a large authority in
-- under 2 seconds).
--
-- ehc_sen2_xml (sql/0041) built the whole document's text in PostgreSQL: each Request by some sixty
-- concatenations (every one copying the text so far), then aggregated per person, sorted and
-- numbered. At 25,000 requests that text work was about 0.8 s of its 2.1-2.3 s (measured by removing
-- it piece by piece). ehc_sen2_xml_rows computes the same items, from the same request, plan and
-- active-plan rows, and returns them as typed rows in document order; ehcd writes the elements
-- (api/sen2_xml.c), escaping each value. Each item column is named as its XML element, so the writer
-- takes the element names from the result and cannot drift from it.
--
-- The rows, in the order they are written (ORDER BY child, case, kind, rank):
--   H  the Header (one row, first): "fragment" holds it, written as it is
--   P  a Person: PersonID .. UniqueLearnerNumber
--   R  a Request: RequestID .. RequestTribunal; then, when has_assessment, the Assessment's items;
--      when has_plan, the NamedPlan's; when has_active, the ActivePlans'
--   L  a PlanDetail of the Request's NamedPlan (placements in the plan's time in the year)
--   D  a PlacementDetail of its ActivePlans (placements current at the reference date)
--   N  an SENneed of its ActivePlans
-- Every case exported is recorded in the access log, in the same transaction.
--
-- The access log of an export. Each case exported was one access_log row: 25,000 rows for the return,
-- about 0.4 s of it (0.65 s with the two foreign keys a real user's row checks, one lookup a row). An
-- export is one act over many cases, now one row per authority with the cases in case_ids (the
-- first case's id in neither column: a row names its case in case_id, or its cases in case_ids).
-- The case's access log (ehc_admin_case_access_log) finds such rows by a GIN index kept only for
-- them; writing the 25,000 ids costs about 35 ms. The module exports (ehc_sen2_export) do the same.
--
-- ehc_sen2_request_rows parses the two outcome dates once a case, in the grouped pass, not at each
-- of the half-dozen places the flattened query used them.

DROP FUNCTION ehc_sen2_xml(text, int, bigint, text);

ALTER TABLE access_log ADD COLUMN case_ids bigint[],
    ADD CONSTRAINT access_log_one_case_or_many CHECK (case_id IS NULL OR case_ids IS NULL);
CREATE INDEX access_log_case_ids ON access_log USING gin (case_ids) WHERE case_ids IS NOT NULL;

-- The access log of a case: the rows that name it, and the exports that hold it.
CREATE OR REPLACE FUNCTION ehc_admin_case_access_log(p_ctx jsonb, p_case_id bigint, p_limit integer,
                                                     p_offset integer)
RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    v_scope bigint[] := ehc__admin_bind(p_ctx);
BEGIN
    -- row-level security hides another authority's case
    IF NOT EXISTS (SELECT 1 FROM cases c WHERE c.id = p_case_id) THEN
        RETURN ehc__admin_error(404, 'not_found', 'no such case', NULL);
    END IF;
    RETURN ehc__admin_ok(200, coalesce((
        SELECT jsonb_agg(jsonb_build_object('id', l.id, 'at', l.at, 'user_id', l.user_id, 'username', u.username,
                                            'api_token_id', l.api_token_id, 'action', l.action,
                                            'resource', l.resource, 'client_address', host(l.client_address),
                                            'request_id', l.request_id) ORDER BY l.at DESC, l.id DESC)
        FROM (SELECT l.id, l.at, l.user_id, l.api_token_id, l.action, l.resource, l.client_address, l.request_id
              FROM access_log l WHERE l.case_id = p_case_id
              UNION ALL
              SELECT l.id, l.at, l.user_id, l.api_token_id, l.action, l.resource, l.client_address, l.request_id
              FROM access_log l WHERE l.case_ids IS NOT NULL AND l.case_ids @> ARRAY[p_case_id]
              ORDER BY 2 DESC, 1 DESC LIMIT p_limit OFFSET p_offset) AS l
        LEFT JOIN users u ON u.id = l.user_id), '[]'::jsonb));
END
$$;

-- One module as one document for the API (as in sql/0026), its cases in one access-log row per
-- authority.
CREATE OR REPLACE FUNCTION ehc_sen2_export(p_authority_ids text, p_census_year int, p_module text, p_user_id bigint,
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
        INSERT INTO access_log (authority_id, user_id, case_ids, action, resource, request_id)
        SELECT c.authority_id, p_user_id, array_agg(c.id ORDER BY c.id), 'export',
               'SEN2 ' || p_census_year || ' ' || p_module, p_request_id
        FROM cases c WHERE c.id IN (SELECT unnest(r.case_ids) FROM r)
        GROUP BY c.authority_id
    )
    SELECT jsonb_build_object('census_year', p_census_year,
                              'reference_date', ehc_sen2_iso(ehc_sen2_reference_date(p_census_year)),
                              'module', p_module, 'items', to_jsonb(ehc_sen2_items(p_module)),
                              'rows', coalesce(jsonb_agg(r.item ORDER BY r.n), '[]'::jsonb))
    INTO v FROM r;
    RETURN v;
END
$$;

-- Every request of the return (as in sql/0041), the outcome dates parsed once a case.
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
               ehc_sen2_date(min(r.value) FILTER (WHERE r.item = 'RequestOutcomeDate')) AS rod,
               min(r.value) FILTER (WHERE r.item = 'RequestMediation') AS request_mediation,
               min(r.value) FILTER (WHERE r.item = 'RequestTribunal') AS request_tribunal,
               min(r.value) FILTER (WHERE r.item = 'AssessmentOutcome') AS assessment_outcome,
               ehc_sen2_date(min(r.value) FILTER (WHERE r.item = 'AssessmentOutcomeDate')) AS aod,
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
               k.request_outcome, k.rod, k.request_mediation, k.request_tribunal,
               k.assessment_outcome, k.aod, k.assessment_mediation, k.assessment_tribunal,
               k.other_mediation, k.other_tribunal, k.week20
        FROM cases c
        JOIN children ch ON ch.id = c.child_id
        CROSS JOIN y
        LEFT JOIN k ON k.case_id = c.id
        WHERE c.workflow_id = 'ehc-needs-assessment' AND c.opened_on <= y.y1
    ), r AS (
        SELECT c.*, coalesce(c.request_outcome, 'A') AS ro
        FROM c
    ), a AS (
        SELECT r.*, CASE WHEN r.ro = 'Y' THEN coalesce(r.assessment_outcome, 'A') END AS ao,
               CASE WHEN r.ro = 'Y' THEN r.aod END AS aod_y
        FROM r
    )
    SELECT a.id, a.authority_id, a.reference, a.child_id, a.opened_on,
           CASE WHEN a.young_person_acts_for_self THEN '1' ELSE '0' END,
           a.ro, CASE WHEN a.ro <> 'A' THEN a.rod END,
           coalesce(a.request_mediation, '0'), coalesce(a.request_tribunal, '0'),
           a.ao, CASE WHEN a.ao <> 'A' THEN a.aod_y END,
           CASE WHEN a.ao IS NOT NULL THEN coalesce(a.assessment_mediation, '0') END,
           CASE WHEN a.ao IS NOT NULL THEN coalesce(a.assessment_tribunal, '0') END,
           CASE WHEN a.ao IS NOT NULL THEN coalesce(a.other_mediation, '0') END,
           CASE WHEN a.ao IS NOT NULL THEN coalesce(a.other_tribunal, '0') END,
           CASE WHEN a.ao IN ('Y', 'S') THEN coalesce(a.week20, '0') END
    FROM a CROSS JOIN y
    -- open at some point of the year: received in it, or its last outcome not before it began
    WHERE a.opened_on >= y.y0
       OR (CASE WHEN a.ro IN ('N', 'W', 'H') THEN a.rod
                WHEN a.ro = 'Y' AND a.ao IN ('Y', 'N', 'W', 'S', 'H') THEN a.aod_y END) IS NULL
       OR (CASE WHEN a.ro IN ('N', 'W', 'H') THEN a.rod
                WHEN a.ro = 'Y' AND a.ao IN ('Y', 'N', 'W', 'S', 'H') THEN a.aod_y END) >= y.y0
$$;


-- to_char is STABLE: declared IMMUTABLE, ehc_sen2_iso was never inlined and ran as a function call
-- per date (about 200,000 calls in the return). Declared as what it is, it is inlined.
ALTER FUNCTION ehc_sen2_iso(date) STABLE;

CREATE FUNCTION ehc_sen2_xml_rows(p_authority_ids text, p_census_year int, p_user_id bigint, p_request_id text)
RETURNS TABLE (kind text, child_id bigint, case_id bigint, ord int, fragment text,
               "PersonID" bigint, "Surname" text, "Forename" text, "PersonBirthDate" text, "Sex" text,
               "Ethnicity" text, "PostCode" text, "UPN" text, "UniqueLearnerNumber" text,
               "RequestID" text, "ReceivedDate" text, "RYA" text, "RequestOutcomeDate" text,
               "RequestOutcome" text, "RequestMediation" text, "RequestTribunal" text,
               has_assessment boolean, "AssessmentOutcome" text, "AssessmentOutcomeDate" text,
               "AssessmentMediation" text, "AssessmentTribunal" text, "OtherMediation" text,
               "OtherTribunal" text, "Week20" text,
               has_plan boolean, "StartDate" text, "PlanRes" text, "PlanWBP" text, "PB" text, "OA" text,
               "DP" text, "CeaseDate" text, "CeaseReason" text,
               has_active boolean, "TransferLA" text, "ReviewMeeting" text, "ReviewOutcome" text,
               "ReviewDecisionDate" text, "DraftAmendedPlanDate" text, "PhaseTransferDueDate" text,
               "PhaseTransferFinalDate" text,
               "URN" text, "UKPRN" text, "SENsetting" text, "PlacementRank" int, "SENUnitIndicator" int,
               "ResourcedProvisionIndicator" int, "EntryDate" text, "LeavingDate" text,
               "SENtype" text, "SENtypeRank" int)
LANGUAGE plpgsql
-- JIT compiling this statement costs more than it saves at this size
SET jit = off AS $$
DECLARE
    v_ref date := ehc_sen2_reference_date(p_census_year);
    v_y0 date := make_date(p_census_year - 1, 1, 1);
BEGIN
    PERFORM set_config('ehc.authority_ids', p_authority_ids, true);
    RETURN QUERY
    WITH q AS MATERIALIZED (
        SELECT * FROM ehc_sen2_request_rows(p_census_year)
    ), p AS MATERIALIZED (
        SELECT * FROM ehc_sen2_plan_rows(p_census_year)
    ), a AS MATERIALIZED (
        SELECT * FROM ehc_sen2_active_of(p_census_year, ARRAY(SELECT p.case_id FROM p WHERE p.cease_on IS NULL))
    ), k AS MATERIALIZED (
        SELECT q.case_id, q.child_id, q.authority_id FROM q
        UNION SELECT p.case_id, p.child_id, p.authority_id FROM p
    ), logged AS (
        INSERT INTO access_log (authority_id, user_id, case_ids, action, resource, request_id)
        SELECT k.authority_id, p_user_id, array_agg(k.case_id ORDER BY k.case_id), 'export',
               'SEN2 ' || p_census_year || ' xml', p_request_id
        FROM k GROUP BY k.authority_id
    ), r (kind, child_id, case_id, ord, fragment,
          "PersonID", "Surname", "Forename", "PersonBirthDate", "Sex", "Ethnicity", "PostCode", "UPN",
          "UniqueLearnerNumber",
          "RequestID", "ReceivedDate", "RYA", "RequestOutcomeDate", "RequestOutcome", "RequestMediation",
          "RequestTribunal",
          has_assessment, "AssessmentOutcome", "AssessmentOutcomeDate", "AssessmentMediation",
          "AssessmentTribunal", "OtherMediation", "OtherTribunal", "Week20",
          has_plan, "StartDate", "PlanRes", "PlanWBP", "PB", "OA", "DP", "CeaseDate", "CeaseReason",
          has_active, "TransferLA", "ReviewMeeting", "ReviewOutcome", "ReviewDecisionDate",
          "DraftAmendedPlanDate", "PhaseTransferDueDate", "PhaseTransferFinalDate",
          "URN", "UKPRN", "SENsetting", "PlacementRank", "SENUnitIndicator", "ResourcedProvisionIndicator",
          "EntryDate", "LeavingDate", "SENtype", "SENtypeRank") AS (
        SELECT 'H', 0::bigint, 0::bigint, 0,
               '<?xml version="1.0" encoding="UTF-8"?>' || chr(10) || '<Message><Header><CollectionDetails>'
               || '<Collection>SEN2</Collection><Year>' || p_census_year || '</Year><ReferenceDate>'
               || ehc_sen2_iso(v_ref) || '</ReferenceDate></CollectionDetails>'
               || '<Source><SourceLevel>L</SourceLevel>'
               || coalesce((SELECT string_agg('<LEA>' || ehc_sen2_xml_text(la.dfe_code) || '</LEA>', ''
                                              ORDER BY la.dfe_code)
                            FROM local_authorities la
                            WHERE la.id = ANY (string_to_array(p_authority_ids, ',')::bigint[])), '')
               || '<SoftwareCode>ehcd</SoftwareCode><DateTime>'
               || to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS')
               || '</DateTime></Source></Header><Persons>',
               NULL::bigint, NULL::text, NULL::text, NULL::text, NULL::text, NULL::text, NULL::text, NULL::text,
               NULL::text,
               NULL::text, NULL::text, NULL::text, NULL::text, NULL::text, NULL::text, NULL::text,
               NULL::boolean, NULL::text, NULL::text, NULL::text, NULL::text, NULL::text, NULL::text, NULL::text,
               NULL::boolean, NULL::text, NULL::text, NULL::text, NULL::text, NULL::text, NULL::text, NULL::text,
               NULL::text,
               NULL::boolean, NULL::text, NULL::text, NULL::text, NULL::text, NULL::text, NULL::text, NULL::text,
               NULL::text, NULL::text, NULL::text, NULL::int, NULL::int, NULL::int, NULL::text, NULL::text,
               NULL::text, NULL::int
        UNION ALL
        -- the person's items; the postcode left out when the address is confidential
        SELECT 'P', ch.id, 0, 0, NULL,
               ch.id, ch.surname, ch.forename, ehc_sen2_iso(ch.date_of_birth), ch.sex, ch.ethnicity,
               CASE WHEN NOT ch.confidential_address THEN ch.postcode END, ch.upn, ch.uln,
               NULL, NULL, NULL, NULL, NULL, NULL, NULL,
               NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
               NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
               NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
               NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL
        FROM children ch
        WHERE ch.id IN (SELECT k.child_id FROM k)
        UNION ALL
        -- a request: an Assessment when it has an outcome or a plan, its NamedPlan when it has a plan,
        -- its ActivePlans when the plan is active at the reference date
        SELECT 'R', k.child_id, k.case_id, 0, NULL,
               NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
               coalesce(q.reference, p.reference), ehc_sen2_iso(coalesce(q.received_on, p.opened_on)), q.rya,
               ehc_sen2_iso(q.request_outcome_date), q.request_outcome, q.request_mediation, q.request_tribunal,
               q.assessment_outcome IS NOT NULL OR p.case_id IS NOT NULL, q.assessment_outcome,
               ehc_sen2_iso(q.assessment_outcome_date), q.assessment_mediation, q.assessment_tribunal,
               q.other_mediation, q.other_tribunal, q.week20,
               p.case_id IS NOT NULL, ehc_sen2_iso(p.start_on), p.plan_res, p.plan_wbp, p.pb, p.oa, p.dp,
               ehc_sen2_iso(p.cease_on), p.cease_reason,
               a.case_id IS NOT NULL, a.transfer_la, ehc_sen2_iso(a.review_meeting_on), a.review_outcome,
               ehc_sen2_iso(a.review_decision_on), ehc_sen2_iso(a.draft_amended_on),
               ehc_sen2_iso(a.phase_transfer_due_on), ehc_sen2_iso(a.phase_transfer_final_on),
               NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL
        FROM k
        LEFT JOIN q ON q.case_id = k.case_id
        LEFT JOIN p ON p.case_id = k.case_id
        LEFT JOIN a ON a.case_id = k.case_id
        UNION ALL
        -- the plan's placements in the year (L: PlanDetail), then, of an active plan, those current at
        -- the reference date (D: PlacementDetail, no LeavingDate), each in rank order
        SELECT w.kind, w.child_id, w.case_id,
               (row_number() OVER (PARTITION BY w.kind, w.case_id ORDER BY pl.rank, pl.id))::int,
               NULL,
               NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
               NULL, NULL, NULL, NULL, NULL, NULL, NULL,
               NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
               NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
               NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
               pl.urn, pl.ukprn, pl.sen_setting, pl.rank, pl.sen_unit::int, pl.resourced_provision::int,
               ehc_sen2_iso(pl.start_on), CASE WHEN w.kind = 'L' THEN ehc_sen2_iso(pl.end_on) END, NULL, NULL
        FROM (SELECT 'L' AS kind, p.child_id, p.case_id, v_y0 AS ends_from FROM p
              UNION ALL
              SELECT 'D', a.child_id, a.case_id, v_ref FROM a) AS w
        JOIN placements pl ON pl.case_id = w.case_id
        WHERE pl.start_on <= v_ref AND (pl.end_on IS NULL OR pl.end_on >= w.ends_from)
        UNION ALL
        SELECT 'N', a.child_id, a.case_id, nd.rank,
               NULL,
               NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
               NULL, NULL, NULL, NULL, NULL, NULL, NULL,
               NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
               NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
               NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
               NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, nd.sen_type, nd.rank
        FROM a JOIN child_needs nd ON nd.child_id = a.child_id
    )
    SELECT r.* FROM r
    ORDER BY r.child_id, r.case_id,
             CASE r.kind WHEN 'H' THEN 0 WHEN 'P' THEN 1 WHEN 'R' THEN 2 WHEN 'L' THEN 3 WHEN 'D' THEN 4 ELSE 5 END,
             r.ord;
END
$$;

GRANT EXECUTE ON FUNCTION ehc_sen2_xml_rows(text, int, bigint, text) TO ehc_app;
