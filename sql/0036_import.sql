-- `ehcd import` (docs/import.md): a council's open cases brought in from its old system. Each case
-- and child keeps the old system's reference, so a second run finds what the first brought in and
-- changes nothing; each case is marked migrated, with the system it came from and the SHA-256 of
-- the rows it was built from.

ALTER TABLE children
    ADD COLUMN source_ref text CHECK (source_ref ~ '^[A-Za-z0-9_.:/-]{1,64}$');
CREATE UNIQUE INDEX children_source_ref ON children (authority_id, source_ref) WHERE source_ref IS NOT NULL;

ALTER TABLE cases
    ADD COLUMN source_system text CHECK (length(source_system) BETWEEN 1 AND 100),
    ADD COLUMN source_ref text CHECK (source_ref ~ '^[A-Za-z0-9_.:/-]{1,64}$'),
    ADD COLUMN source_sha256 text CHECK (source_sha256 ~ '^[0-9a-f]{64}$'),
    ADD CONSTRAINT cases_source_is_migrated CHECK (source_ref IS NULL OR (migrated AND source_system IS NOT NULL
                                                                          AND source_sha256 IS NOT NULL));
CREATE UNIQUE INDEX cases_source_ref ON cases (authority_id, workflow_id, source_ref) WHERE source_ref IS NOT NULL;

-- Writes cases whose histories ehcd has already replayed through the machine: each case's events
-- as recorded (with the file and row each came from in the payload), and the projection of its
-- final state, every row of which the machine computed (what ehc__apply_command would hold after
-- recording the events one by one; `ehcd verify` checks it). Set-based: one statement per table
-- for the whole batch. The caller skips cases already imported (the unique index on source_ref
-- refuses a duplicate that slips past), binds the authority (ehc.authority_ids) and runs the whole
-- import in one transaction. Returns how many children were created.
CREATE FUNCTION ehc_import_cases(p_authority bigint, p_source text, p_recorded_at timestamptz, p_cases jsonb)
RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    v_children integer;
BEGIN
    WITH src AS (
        SELECT DISTINCT ON (c -> 'child' ->> 'source_ref') c -> 'child' AS ch
        FROM jsonb_array_elements(p_cases) AS s (c)
        WHERE NOT EXISTS (SELECT 1 FROM children x
                          WHERE x.authority_id = p_authority AND x.source_ref = c -> 'child' ->> 'source_ref')
    ), ins AS (
        INSERT INTO children (authority_id, source_ref, forename, surname, date_of_birth, sex, nhs_number, upn, postcode)
        SELECT p_authority, ch ->> 'source_ref', ch ->> 'forename', ch ->> 'surname', (ch ->> 'date_of_birth')::date,
               ch ->> 'sex', ch ->> 'nhs_number', ch ->> 'upn', ch ->> 'postcode'
        FROM src
        RETURNING id, source_ref
    ), needs AS (
        INSERT INTO child_needs (authority_id, child_id, rank, sen_type)
        SELECT p_authority, ins.id, n.ord, n.value
        FROM ins JOIN src ON src.ch ->> 'source_ref' = ins.source_ref
        CROSS JOIN LATERAL jsonb_array_elements_text(coalesce(src.ch -> 'needs', '[]'::jsonb))
            WITH ORDINALITY AS n (value, ord)
    )
    SELECT count(*) INTO v_children FROM ins;

    WITH src AS (
        SELECT c, c ->> 'reference' AS reference, ch.id AS child_id
        FROM jsonb_array_elements(p_cases) AS s (c)
        JOIN children ch ON ch.authority_id = p_authority AND ch.source_ref = c -> 'child' ->> 'source_ref'
    ), kase AS (
        INSERT INTO cases (authority_id, reference, child_id, workflow_id, workflow_sha256, calendar_sha256, stage,
                           status, opened_on, closed_on, version, migrated, source_system, source_ref, source_sha256,
                           created_at, updated_at)
        SELECT p_authority, c ->> 'reference', child_id, c ->> 'workflow_id', c ->> 'workflow_sha256',
               c ->> 'calendar_sha256', c -> 'projection' ->> 'stage', c -> 'projection' ->> 'status',
               (c ->> 'opened_on')::date, (c -> 'projection' ->> 'closed_on')::date, (c ->> 'version')::integer,
               true, p_source, c ->> 'source_ref', c ->> 'source_sha256', p_recorded_at, p_recorded_at
        FROM src
        RETURNING id, reference
    ), j AS (
        SELECT kase.id AS case_id, src.c FROM kase JOIN src ON src.reference = kase.reference
    ), events AS (
        INSERT INTO case_events (authority_id, case_id, seq, type, actor_role, recorded_at, effective_on, payload,
                                 workflow_sha256)
        SELECT p_authority, j.case_id, e.seq, e.type, e.actor_role, p_recorded_at, e.effective_on,
               jsonb_build_object('fields', e.fields, 'migrated_from',
                                  jsonb_build_object('system', p_source, 'file', e.source ->> 'file',
                                                     'row', (e.source ->> 'row')::integer)),
               j.c ->> 'workflow_sha256'
        FROM j CROSS JOIN LATERAL jsonb_to_recordset(j.c -> 'events') AS e (
            seq integer, type text, actor_role text, effective_on date, fields jsonb, source jsonb)
    ), dl AS (
        INSERT INTO deadlines (authority_id, case_id, deadline_key, instance_key, kind, basis, direction, origin_on,
                               due_on, status, settled_on, settled_by_seq, exception_applies, set_by_seq)
        SELECT p_authority, j.case_id, x.deadline_key, x.instance_key, x.kind, x.basis, x.direction, x.origin_on,
               x.due_on, x.status, x.settled_on, x.settled_by_seq, x.exception_applies, x.set_by_seq
        FROM j CROSS JOIN LATERAL jsonb_to_recordset(j.c -> 'deadlines') AS x (
            deadline_key text, instance_key text, kind text, basis text, direction text, origin_on date,
            due_on date, status text, settled_on date, settled_by_seq integer, exception_applies boolean,
            set_by_seq integer)
        RETURNING id, case_id, deadline_key, instance_key
    ), reports AS (
        INSERT INTO case_report_codes (authority_id, case_id, item, value, set_on, set_by_seq)
        SELECT p_authority, j.case_id, x.item, x.value, x.set_on, x.set_by_seq
        FROM j CROSS JOIN LATERAL jsonb_to_recordset(j.c -> 'reports') AS x (
            item text, value text, set_on date, set_by_seq integer)
    ), advice AS (
        INSERT INTO advice_requests (authority_id, case_id, request_key, adviser_type, organisation_id, sent_on,
                                     received_by_adviser_on, due_on, returned_on, outcome, nil_reason,
                                     forwarded_to_id, requested_seq)
        SELECT p_authority, j.case_id, x.request_key, x.adviser, x.organisation_id, x.sent_on, x.received_on,
               x.due_on, x.returned_on, x.outcome, x.nil_reason, x.forwarded_to_id, x.requested_seq
        FROM j CROSS JOIN LATERAL jsonb_to_recordset(j.c -> 'advice') AS x (
            request_key text, adviser text, organisation_id bigint, sent_on date, received_on date, due_on date,
            returned_on date, outcome text, nil_reason text, forwarded_to_id bigint, requested_seq integer)
    ), placed AS (
        INSERT INTO placements (authority_id, case_id, rank, urn, ukprn, sen_setting, sen_unit,
                                resourced_provision, start_on, end_on)
        SELECT p_authority, j.case_id, x.rank, x.urn, x.ukprn, x.sen_setting, coalesce(x.sen_unit, false),
               coalesce(x.resourced_provision, false), x.start_on, x.end_on
        FROM j CROSS JOIN LATERAL jsonb_to_recordset(coalesce(j.c -> 'placements', '[]'::jsonb)) AS x (
            rank smallint, urn text, ukprn text, sen_setting text, sen_unit boolean, resourced_provision boolean,
            start_on date, end_on date)
    )
    INSERT INTO deadline_exceptions (authority_id, case_id, deadline_id, reason, basis, from_on, to_on,
                                     evidence_note, family_told_on, recorded_by_seq)
    SELECT p_authority, j.case_id, dl.id, x.reason, x.basis, x.from_on, x.to_on, x.evidence_note, x.family_told_on,
           x.recorded_by_seq
    FROM j CROSS JOIN LATERAL jsonb_to_recordset(j.c -> 'exceptions') AS x (
        deadline_key text, instance_key text, reason text, basis text, from_on date, to_on date,
        evidence_note text, family_told_on date, recorded_by_seq integer)
    JOIN dl ON dl.case_id = j.case_id AND dl.deadline_key = x.deadline_key AND dl.instance_key = x.instance_key;
    RETURN v_children;
END
$$;
REVOKE EXECUTE ON FUNCTION ehc_import_cases(bigint, text, timestamptz, jsonb) FROM PUBLIC;
