-- The per-event UPDATE of cases (ehc__apply_command: stage, status, closed_on, version, updated_at) paid
-- for every CHECK constraint of the table: PostgreSQL rebuilds each from its stored text and compiles
-- it for every INSERT or UPDATE it executes, whichever columns the statement sets (perf: stringToNode,
-- pg_strtok). Measured with 5,000 single-row updates, the 14 CHECKs of cases were 0.1 of the 0.3 ms
-- each update took; folded into one CHECK they cost the same (the cost follows their text, not their
-- number). See docs/adr/0001 "Throughput through the API".
--
-- The nine on columns the per-event update never sets (the case's identity, its pinned definitions
-- and its import source) become one trigger that runs when a statement inserts a case or sets one of
-- those columns (UPDATE OF), with the same rules, the same SQLSTATE (23514) and each constraint's
-- name. The five on the columns every event sets (stage, status, closed_on, version) stay CHECKs.
ALTER TABLE cases
    DROP CONSTRAINT cases_calendar_sha256_check,
    DROP CONSTRAINT cases_open_idempotency_key_check,
    DROP CONSTRAINT cases_reference_check,
    DROP CONSTRAINT cases_source_is_migrated,
    DROP CONSTRAINT cases_source_ref_check,
    DROP CONSTRAINT cases_source_sha256_check,
    DROP CONSTRAINT cases_source_system_check,
    DROP CONSTRAINT cases_workflow_id_check,
    DROP CONSTRAINT cases_workflow_sha256_check;

CREATE FUNCTION ehc__cases_identity_check() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    v_failed text;
BEGIN
    -- as a CHECK: only a false rule refuses (a NULL passes)
    v_failed := CASE
        WHEN (NEW.calendar_sha256 ~ '^[0-9a-f]{64}$') IS FALSE THEN 'cases_calendar_sha256_check'
        WHEN (NEW.workflow_sha256 ~ '^[0-9a-f]{64}$') IS FALSE THEN 'cases_workflow_sha256_check'
        WHEN (NEW.workflow_id ~ '^[a-z0-9_-]{1,63}$') IS FALSE THEN 'cases_workflow_id_check'
        WHEN (NEW.reference ~ '^[A-Z0-9][A-Z0-9-]{2,31}$') IS FALSE THEN 'cases_reference_check'
        WHEN (length(NEW.open_idempotency_key) BETWEEN 1 AND 200) IS FALSE THEN 'cases_open_idempotency_key_check'
        WHEN (NEW.source_ref IS NULL OR NEW.migrated AND NEW.source_system IS NOT NULL
              AND NEW.source_sha256 IS NOT NULL) IS FALSE THEN 'cases_source_is_migrated'
        WHEN (NEW.source_ref ~ '^[A-Za-z0-9_.:/-]{1,64}$') IS FALSE THEN 'cases_source_ref_check'
        WHEN (NEW.source_sha256 ~ '^[0-9a-f]{64}$') IS FALSE THEN 'cases_source_sha256_check'
        WHEN (length(NEW.source_system) BETWEEN 1 AND 100) IS FALSE THEN 'cases_source_system_check'
    END;
    IF v_failed IS NOT NULL THEN
        RAISE EXCEPTION 'new row for relation "cases" violates check constraint "%"', v_failed
            USING ERRCODE = 'check_violation', CONSTRAINT = v_failed, TABLE = 'cases';
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER cases_identity_check
    BEFORE INSERT OR UPDATE OF calendar_sha256, workflow_sha256, workflow_id, reference, open_idempotency_key,
                               source_ref, migrated, source_system, source_sha256
    ON cases FOR EACH ROW EXECUTE FUNCTION ehc__cases_identity_check();
