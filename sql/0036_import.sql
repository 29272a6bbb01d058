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
