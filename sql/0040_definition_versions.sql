-- Every version of the law ehcd has served on (docs/adr/0001, "Definition versions"): the text of
-- each workflow and bank-holiday calendar file, stored by ehcd at start, once per content hash, so
-- that a later ehcd can still replay and serve a case pinned to a version whose file has since
-- changed. Not personal data: no row-level security.
CREATE TABLE ehc_definition_versions (
    sha256 text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    kind text NOT NULL CHECK (kind IN ('workflow', 'calendar')),
    id text NOT NULL,
    content text NOT NULL,
    first_loaded_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (sha256, kind)
);

-- ehcd may add a version, never change or remove one
GRANT SELECT, INSERT ON ehc_definition_versions TO ehc_app;

-- definitions_updated moves the case to the versions it names: the case's pins follow its log, in
-- the same transaction as the event (ehcd checked the hashes are those it loaded).
CREATE FUNCTION ehc__definitions_pinned() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE cases SET workflow_sha256 = NEW.payload -> 'fields' ->> 'workflow_hash',
                     calendar_sha256 = NEW.payload -> 'fields' ->> 'calendar_hash'
    WHERE id = NEW.case_id;
    RETURN NULL;
END
$$;

CREATE TRIGGER case_events_definitions_updated AFTER INSERT ON case_events
    FOR EACH ROW WHEN (NEW.type = 'definitions_updated') EXECUTE FUNCTION ehc__definitions_pinned();

-- The scheduler plans a deadline's alerts under the calendar its case pinned, too.
DROP FUNCTION ehc_scheduler_unplanned(bigint, integer, bigint);
CREATE FUNCTION ehc_scheduler_unplanned(p_after_id bigint, p_limit integer, p_case_id bigint)
RETURNS TABLE (id bigint, workflow_sha256 text, deadline_key text, instance_key text, origin_on date,
               due_on date, calendar_sha256 text)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
BEGIN
    PERFORM ehc__bind_all_authorities();
    RETURN QUERY
    SELECT d.id, c.workflow_sha256, d.deadline_key, d.instance_key, d.origin_on, d.due_on, c.calendar_sha256
    FROM deadlines d JOIN cases c ON c.id = d.case_id
    WHERE d.status = 'open' AND d.planned_due_on IS DISTINCT FROM d.due_on AND d.id > p_after_id
      AND (p_case_id IS NULL OR d.case_id = p_case_id)
    ORDER BY d.id
    LIMIT p_limit;
END
$$;
GRANT EXECUTE ON FUNCTION ehc_scheduler_unplanned(bigint, integer, bigint) TO ehc_app;
