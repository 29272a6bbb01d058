-- The SEN2 records of a plan (statute.md §7): the named plan's details (4a), its placements (4b) and
-- the child's SEN need, as projections of the event log, like advice requests (0018). An event whose
-- workflow definition carries "sen2_record" (plan, placement, need) makes the store send the case's
-- records whole ("sen2_plan", "sen2_placements", "sen2_needs" in the command), rebuilt from the
-- standing events, so that a correction is a new event and a replay gives the same rows.
--
-- What the machine cannot check across fields (a placement naming exactly one of URN, UKPRN and
-- SENsetting; dates in order) is no longer refused here, after the machine accepted the event: the
-- SEN2 validation names it for an officer to fix (0028), as it does a bad code.

DO $$
DECLARE
    c record;
BEGIN
    FOR c IN SELECT conrelid::regclass::text AS t, conname FROM pg_constraint
             WHERE contype = 'c'
               AND ((conrelid = 'placements'::regclass
                     AND (pg_get_constraintdef(oid) LIKE '%num_nonnulls%'
                          OR pg_get_constraintdef(oid) LIKE '%end_on >= start_on%'))
                    OR (conrelid = 'plans'::regclass
                        AND (pg_get_constraintdef(oid) LIKE '%cease_on IS NULL%'
                             OR pg_get_constraintdef(oid) LIKE '%cease_on >= start_on%')))
    LOOP
        EXECUTE format('ALTER TABLE %I DROP CONSTRAINT %I', c.t, c.conname);
    END LOOP;
END
$$;

ALTER TABLE plans ADD COLUMN recorded_seq integer CHECK (recorded_seq >= 1);
ALTER TABLE placements
    ADD COLUMN placement_key text CHECK (length(placement_key) BETWEEN 1 AND 64),
    ADD COLUMN recorded_seq integer CHECK (recorded_seq >= 1);
CREATE UNIQUE INDEX placements_case_key ON placements (case_id, placement_key);
-- the case whose events recorded the child's need (NULL: recorded before 0027)
ALTER TABLE child_needs ADD COLUMN case_id bigint,
    ADD FOREIGN KEY (authority_id, case_id) REFERENCES cases (authority_id, id);

-- rows a correction removes from the log's meaning are removed from its projection
GRANT DELETE ON plans, placements TO ehc_app;

-- The command function as it stood (0018), kept whole under another name; the SEN2 records are
-- applied after it, in the same transaction, when it accepted the event.
ALTER FUNCTION ehc__apply_command(jsonb) RENAME TO ehc__apply_command_0018;

CREATE FUNCTION ehc__apply_command(cmd jsonb) RETURNS jsonb
LANGUAGE plpgsql
SET plan_cache_mode = force_generic_plan AS $$
DECLARE
    v_result jsonb := ehc__apply_command_0018(cmd);
    v_authority bigint := (cmd ->> 'authority_id')::bigint;
    v_case bigint;
    v_child bigint;
BEGIN
    IF NOT (v_result ->> 'ok')::boolean OR coalesce((v_result ->> 'replayed')::boolean, false)
       OR NOT (cmd ? 'sen2_placements') THEN
        RETURN v_result;
    END IF;
    v_case := (v_result ->> 'case_id')::bigint;

    -- 4a: the plan's details, from the last standing plan event
    DELETE FROM plans WHERE case_id = v_case AND jsonb_typeof(cmd -> 'sen2_plan') IS DISTINCT FROM 'object';
    IF jsonb_typeof(cmd -> 'sen2_plan') = 'object' THEN
        INSERT INTO plans AS p (authority_id, case_id, start_on, residential, work_based, personal_budget,
                                organised_arrangements, direct_payments, cease_on, cease_reason, recorded_seq)
        SELECT v_authority, v_case, x.start_on, x.residential, x.work_based, x.personal_budget,
               x.organised_arrangements, x.direct_payments, x.cease_on, x.cease_reason, x.recorded_seq
        FROM jsonb_to_record(cmd -> 'sen2_plan') AS x (
            start_on date, residential boolean, work_based boolean, personal_budget boolean,
            organised_arrangements boolean, direct_payments boolean, cease_on date, cease_reason smallint,
            recorded_seq integer)
        ON CONFLICT (case_id) DO UPDATE
            SET start_on = excluded.start_on, residential = excluded.residential, work_based = excluded.work_based,
                personal_budget = excluded.personal_budget,
                organised_arrangements = excluded.organised_arrangements,
                direct_payments = excluded.direct_payments, cease_on = excluded.cease_on,
                cease_reason = excluded.cease_reason, recorded_seq = excluded.recorded_seq;
    END IF;

    -- 4b: one placement per key, from the last standing placement event of that key
    DELETE FROM placements pl
    WHERE pl.case_id = v_case
      AND NOT EXISTS (SELECT 1 FROM jsonb_array_elements(cmd -> 'sen2_placements') x
                      WHERE x ->> 'placement_key' = pl.placement_key);
    INSERT INTO placements AS pl (authority_id, case_id, placement_key, rank, urn, ukprn, sen_setting, sen_unit,
                                  resourced_provision, start_on, end_on, recorded_seq)
    SELECT v_authority, v_case, x.placement_key, x.rank, x.urn, x.ukprn, x.sen_setting, x.sen_unit,
           x.resourced_provision, x.start_on, x.end_on, x.recorded_seq
    FROM jsonb_to_recordset(cmd -> 'sen2_placements') AS x (
        placement_key text, rank smallint, urn text, ukprn text, sen_setting text, sen_unit boolean,
        resourced_provision boolean, start_on date, end_on date, recorded_seq integer)
    ON CONFLICT (case_id, placement_key) DO UPDATE
        SET rank = excluded.rank, urn = excluded.urn, ukprn = excluded.ukprn, sen_setting = excluded.sen_setting,
            sen_unit = excluded.sen_unit, resourced_provision = excluded.resourced_provision,
            start_on = excluded.start_on, end_on = excluded.end_on, recorded_seq = excluded.recorded_seq;

    -- SEN need: the child's ranked needs, as the last standing need event of this case says
    IF jsonb_array_length(coalesce(cmd -> 'sen2_needs', '[]'::jsonb)) > 0 THEN
        SELECT c.child_id INTO v_child FROM cases c WHERE c.id = v_case;
        DELETE FROM child_needs WHERE child_id = v_child;
        INSERT INTO child_needs (authority_id, child_id, rank, sen_type, case_id)
        SELECT v_authority, v_child, x.rank, x.sen_type, v_case
        FROM jsonb_to_recordset(cmd -> 'sen2_needs') AS x (rank smallint, sen_type text);
    ELSE
        DELETE FROM child_needs WHERE case_id = v_case;
    END IF;
    RETURN v_result;
END
$$;

REVOKE EXECUTE ON FUNCTION ehc__apply_command_0018(jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION ehc__apply_command_0018(jsonb) TO ehc_app;
REVOKE EXECUTE ON FUNCTION ehc__apply_command(jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION ehc__apply_command(jsonb) TO ehc_app;
