-- The scheduler's per-case round trips, which follow a committed event that moved a deadline
-- (engine/store.c now skips them for an event that moved none: a note, a letter sent, a notification).
--
-- ehc_scheduler_unplanned (sql/0040) served both the sweep (every case) and one case with one
-- statement: "(p_case_id IS NULL OR d.case_id = p_case_id)" under a cached generic plan walked the
-- unplanned deadlines of every case and filtered them, about 1.2 ms a call on 512 cases and growing
-- with the authority. One case now has its own statement, on the (case_id, ...) index.
--
-- ehc__us_to_ts and ehc__ts_to_us were declared IMMUTABLE over STABLE operators (timestamptz plus an
-- interval; extract from a timestamptz), which kept PostgreSQL from inlining them: each call ran as a
-- function. Declared as what they are, they are inlined. Neither is used in an index or a constraint.
ALTER FUNCTION ehc__us_to_ts(bigint) STABLE;
ALTER FUNCTION ehc__ts_to_us(timestamptz) STABLE;

CREATE OR REPLACE FUNCTION ehc_scheduler_unplanned(p_after_id bigint, p_limit integer, p_case_id bigint)
RETURNS TABLE (id bigint, workflow_sha256 text, deadline_key text, instance_key text, origin_on date,
               due_on date, calendar_sha256 text)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
BEGIN
    PERFORM ehc__bind_all_authorities();
    IF p_case_id IS NOT NULL THEN
        RETURN QUERY
        SELECT d.id, c.workflow_sha256, d.deadline_key, d.instance_key, d.origin_on, d.due_on, c.calendar_sha256
        FROM cases c JOIN deadlines d ON d.case_id = c.id
        WHERE c.id = p_case_id AND d.status = 'open' AND d.planned_due_on IS DISTINCT FROM d.due_on
          AND d.id > p_after_id
        ORDER BY d.id
        LIMIT p_limit;
        RETURN;
    END IF;
    RETURN QUERY
    SELECT d.id, c.workflow_sha256, d.deadline_key, d.instance_key, d.origin_on, d.due_on, c.calendar_sha256
    FROM deadlines d JOIN cases c ON c.id = d.case_id
    WHERE d.status = 'open' AND d.planned_due_on IS DISTINCT FROM d.due_on AND d.id > p_after_id
    ORDER BY d.id
    LIMIT p_limit;
END
$$;
