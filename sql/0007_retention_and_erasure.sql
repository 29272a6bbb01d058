-- Retention and erasure (docs/data-protection.md). A child's personal data may be erased only
-- after the retention date of every case about them and with an approval recorded by a named
-- person; `ehcd erase` then clears the identifying columns as the ehc_eraser role, keeping the
-- event log, dates and outcomes for statistics (the log never held personal data).

CREATE TABLE erasure_approvals (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    authority_id    bigint NOT NULL,
    child_id        bigint NOT NULL,
    approved_by     bigint NOT NULL REFERENCES users (id),
    approved_at     timestamptz NOT NULL DEFAULT now(),
    reason          text NOT NULL CHECK (length(reason) BETWEEN 1 AND 1000),
    FOREIGN KEY (authority_id, child_id) REFERENCES children (authority_id, id)
);
CREATE INDEX erasure_approvals_child ON erasure_approvals (child_id);

ALTER TABLE erasure_approvals ENABLE ROW LEVEL SECURITY;
ALTER TABLE erasure_approvals FORCE ROW LEVEL SECURITY;
CREATE POLICY erasure_approvals_by_authority ON erasure_approvals
    USING (authority_id = ANY (ehc_session_authorities()))
    WITH CHECK (authority_id = ANY (ehc_session_authorities()));

-- kept after erasure: the year of birth, for age-band statistics
ALTER TABLE children ADD COLUMN birth_year smallint CHECK (birth_year BETWEEN 1990 AND 2200);

-- the retention date of a child's records: their 31st birthday (a plan can run to age 25, plus
-- the six-year limitation period of the Limitation Act 1980), and never less than six years after
-- the last of their cases closed. NULL while any case is open.
CREATE FUNCTION ehc_retention_until(p_child_id bigint) RETURNS date
LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN bool_or(c.status = 'open') THEN NULL
                ELSE greatest((ch.date_of_birth + interval '31 years')::date,
                              (max(c.closed_on) + interval '6 years')::date) END
    FROM children ch LEFT JOIN cases c ON c.child_id = ch.id
    WHERE ch.id = p_child_id
    GROUP BY ch.date_of_birth
$$;

GRANT SELECT, INSERT ON erasure_approvals TO ehc_app;
GRANT SELECT ON erasure_approvals, users TO ehc_eraser;
GRANT EXECUTE ON FUNCTION ehc_retention_until(bigint) TO ehc_app, ehc_eraser;
