-- Merging two records of the same child (a likely duplicate found after the fact): the cases of
-- the record merged away move to the one kept, the merged record is kept (never deleted) and
-- marked, and the merge is an audited act with who, when, why and which cases moved, recorded in
-- the same transaction, with a write line in the access log for each case. Merged records no longer
-- match a search or a duplicate check.

ALTER TABLE children
    ADD COLUMN merged_into_id bigint REFERENCES children (id),
    ADD COLUMN merged_at timestamptz,
    ADD CONSTRAINT children_merged_check CHECK ((merged_into_id IS NULL) = (merged_at IS NULL)),
    ADD CONSTRAINT children_not_merged_into_self CHECK (merged_into_id IS DISTINCT FROM id);

CREATE TABLE child_merges (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    authority_id    bigint NOT NULL REFERENCES local_authorities (id),
    from_child_id   bigint NOT NULL,
    into_child_id   bigint NOT NULL,
    case_ids        bigint[] NOT NULL,
    reason          text NOT NULL CHECK (length(reason) BETWEEN 1 AND 500),
    merged_by       bigint NOT NULL REFERENCES users (id),
    merged_at       timestamptz NOT NULL DEFAULT now(),
    request_id      text CHECK (length(request_id) <= 64),
    FOREIGN KEY (authority_id, from_child_id) REFERENCES children (authority_id, id),
    FOREIGN KEY (authority_id, into_child_id) REFERENCES children (authority_id, id)
);
ALTER TABLE child_merges ENABLE ROW LEVEL SECURITY;
ALTER TABLE child_merges FORCE ROW LEVEL SECURITY;
CREATE POLICY child_merges_by_authority ON child_merges
    USING (authority_id = ANY ((SELECT ehc_session_authorities())::bigint[]))
    WITH CHECK (authority_id = ANY ((SELECT ehc_session_authorities())::bigint[]));
GRANT SELECT, INSERT ON child_merges TO ehc_app;

-- Merges p_from into p_into, both children of one of the caller's authorities. Returns
-- {"ok": true, "case_ids": [...]} or {"ok": false, "error": "not_found" | "already_merged" |
-- "different_authorities" | "same_child"}.
CREATE FUNCTION ehc_child_merge(p_authority_ids text, p_from bigint, p_into bigint, p_user_id bigint,
                                p_reason text, p_request_id text) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    v_from children%ROWTYPE;
    v_into children%ROWTYPE;
    v_cases bigint[];
BEGIN
    PERFORM set_config('ehc.authority_ids', p_authority_ids, true);
    IF p_from = p_into THEN
        RETURN jsonb_build_object('ok', false, 'error', 'same_child');
    END IF;
    -- both rows locked in id order, so two merges of the same pair cannot interleave
    PERFORM 1 FROM children WHERE id IN (p_from, p_into) ORDER BY id FOR UPDATE;
    SELECT * INTO v_from FROM children WHERE id = p_from;
    SELECT * INTO v_into FROM children WHERE id = p_into;
    IF v_from.id IS NULL OR v_into.id IS NULL OR v_from.erased_at IS NOT NULL OR v_into.erased_at IS NOT NULL THEN
        RETURN jsonb_build_object('ok', false, 'error', 'not_found');
    END IF;
    IF v_from.authority_id <> v_into.authority_id THEN
        RETURN jsonb_build_object('ok', false, 'error', 'different_authorities');
    END IF;
    IF v_from.merged_into_id IS NOT NULL OR v_into.merged_into_id IS NOT NULL THEN
        RETURN jsonb_build_object('ok', false, 'error', 'already_merged');
    END IF;
    WITH moved AS (
        UPDATE cases SET child_id = p_into, updated_at = now() WHERE child_id = p_from RETURNING id
    )
    SELECT coalesce(array_agg(id ORDER BY id), '{}') INTO v_cases FROM moved;
    UPDATE children SET merged_into_id = p_into, merged_at = now() WHERE id = p_from;
    INSERT INTO child_merges (authority_id, from_child_id, into_child_id, case_ids, reason, merged_by, request_id)
    VALUES (v_from.authority_id, p_from, p_into, v_cases, p_reason, p_user_id, p_request_id);
    INSERT INTO access_log (authority_id, user_id, case_id, action, resource, request_id)
    SELECT v_from.authority_id, p_user_id, c, 'write', 'child merged', p_request_id FROM unnest(v_cases) AS c;
    RETURN jsonb_build_object('ok', true, 'authority_id', v_from.authority_id, 'case_ids', to_jsonb(v_cases));
END
$$;
GRANT EXECUTE ON FUNCTION ehc_child_merge(text, bigint, bigint, bigint, text, text) TO ehc_app;

-- A merged record matches no search and no duplicate check.
CREATE OR REPLACE FUNCTION ehc_child_search(p_authority_ids text, p_query jsonb) RETURNS jsonb
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM set_config('ehc.authority_ids', p_authority_ids, true);
    RETURN coalesce((
        SELECT jsonb_agg(jsonb_build_object(
                   'id', ch.id, 'authority_id', ch.authority_id, 'forename', ch.forename, 'surname', ch.surname,
                   'date_of_birth', ch.date_of_birth, 'nhs_number', ch.nhs_number, 'upn', ch.upn,
                   'cases', coalesce((SELECT jsonb_agg(jsonb_build_object('id', c.id, 'reference', c.reference,
                                                                           'stage', c.stage, 'status', c.status)
                                                        ORDER BY c.opened_on)
                                      FROM cases c WHERE c.child_id = ch.id), '[]'::jsonb))
               ORDER BY ch.surname, ch.forename, ch.id)
        FROM (SELECT * FROM children ch
              WHERE ch.erased_at IS NULL AND ch.merged_into_id IS NULL
                AND (p_query ->> 'nhs_number' IS NULL OR ch.nhs_number = p_query ->> 'nhs_number')
                AND (p_query ->> 'upn' IS NULL OR ch.upn = p_query ->> 'upn')
                AND (p_query ->> 'surname' IS NULL OR lower(ch.surname) = lower(p_query ->> 'surname'))
                AND (p_query ->> 'date_of_birth' IS NULL OR ch.date_of_birth = (p_query ->> 'date_of_birth')::date)
              ORDER BY ch.surname, ch.forename, ch.id
              LIMIT 50) AS ch), '[]'::jsonb);
END
$$;

CREATE OR REPLACE FUNCTION ehc_child_duplicates(p_authority_ids text, p_child jsonb) RETURNS jsonb
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM set_config('ehc.authority_ids', p_authority_ids, true);
    RETURN coalesce((
        SELECT jsonb_agg(jsonb_build_object('id', ch.id, 'forename', ch.forename, 'surname', ch.surname,
                                            'date_of_birth', ch.date_of_birth, 'nhs_number', ch.nhs_number,
                                            'upn', ch.upn))
        FROM children ch
        WHERE ch.erased_at IS NULL AND ch.merged_into_id IS NULL
          AND ((p_child ->> 'nhs_number' IS NOT NULL AND ch.nhs_number = p_child ->> 'nhs_number')
               OR (p_child ->> 'upn' IS NOT NULL AND ch.upn = p_child ->> 'upn')
               OR (lower(ch.surname) = lower(p_child ->> 'surname')
                   AND ch.date_of_birth = (p_child ->> 'date_of_birth')::date))), '[]'::jsonb);
END
$$;

-- A new case is opened for the record kept, never for one merged away.
CREATE FUNCTION ehc__refuse_merged_child() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM children WHERE id = NEW.child_id AND merged_into_id IS NOT NULL) THEN
        RAISE EXCEPTION 'child % was merged into another record: open the case for the record kept', NEW.child_id
            USING ERRCODE = 'check_violation', CONSTRAINT = 'child_merged_use_the_record_kept';
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER cases_not_for_a_merged_child BEFORE INSERT ON cases
    FOR EACH ROW EXECUTE FUNCTION ehc__refuse_merged_child();

-- A search that shows children is a read of their cases: each case of each child found is recorded
-- in the access log (not the search terms), in the search's own transaction.
CREATE FUNCTION ehc_child_search_logged(p_authority_ids text, p_query jsonb, p_user_id bigint, p_request_id text)
RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    v jsonb := ehc_child_search(p_authority_ids, p_query);
BEGIN
    INSERT INTO access_log (authority_id, user_id, case_id, action, resource, request_id)
    SELECT (ch ->> 'authority_id')::bigint, p_user_id, (c ->> 'id')::bigint, 'read', 'child search', p_request_id
    FROM jsonb_array_elements(v) ch, jsonb_array_elements(ch -> 'cases') c;
    RETURN v;
END
$$;
GRANT EXECUTE ON FUNCTION ehc_child_search_logged(text, jsonb, bigint, text) TO ehc_app;
