-- Finding a child, and the caseload a manager allocates from.

-- Children of the caller's authorities matching every criterion given: NHS number, UPN, surname
-- (case-insensitive, exact), date of birth. At least one of NHS number, UPN or surname is required
-- (the API checks). Erased records never match.
CREATE FUNCTION ehc_child_search(p_authority_ids text, p_query jsonb) RETURNS jsonb
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
              WHERE ch.erased_at IS NULL
                AND (p_query ->> 'nhs_number' IS NULL OR ch.nhs_number = p_query ->> 'nhs_number')
                AND (p_query ->> 'upn' IS NULL OR ch.upn = p_query ->> 'upn')
                AND (p_query ->> 'surname' IS NULL OR lower(ch.surname) = lower(p_query ->> 'surname'))
                AND (p_query ->> 'date_of_birth' IS NULL OR ch.date_of_birth = (p_query ->> 'date_of_birth')::date)
              ORDER BY ch.surname, ch.forename, ch.id
              LIMIT 50) AS ch), '[]'::jsonb);
END
$$;

-- Open cases per officer in the given teams (all of the authorities' teams when p_team_ids is null),
-- and the unallocated queue.
CREATE FUNCTION ehc_caseload(p_authority_ids text, p_team_ids jsonb) RETURNS jsonb
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM set_config('ehc.authority_ids', p_authority_ids, true);
    RETURN jsonb_build_object(
        'officers', coalesce((
            SELECT jsonb_agg(jsonb_build_object('team_id', x.team_id, 'officer_id', x.officer_id,
                                                'username', u.username, 'display_name', u.display_name,
                                                'open_cases', x.n) ORDER BY x.team_id, u.username)
            FROM (SELECT c.team_id, c.officer_id, count(*) AS n FROM cases c
                  WHERE c.status = 'open' AND c.officer_id IS NOT NULL
                    AND (p_team_ids IS NULL OR jsonb_typeof(p_team_ids) = 'null'
                         OR c.team_id IN (SELECT jsonb_array_elements_text(p_team_ids)::bigint))
                  GROUP BY c.team_id, c.officer_id) AS x
            JOIN users u ON u.id = x.officer_id), '[]'::jsonb),
        'unallocated', (SELECT count(*) FROM cases c
                        WHERE c.status = 'open' AND c.officer_id IS NULL
                          AND (p_team_ids IS NULL OR jsonb_typeof(p_team_ids) = 'null'
                               OR c.team_id IN (SELECT jsonb_array_elements_text(p_team_ids)::bigint))));
END
$$;

CREATE INDEX children_surname ON children (authority_id, lower(surname));
GRANT EXECUTE ON FUNCTION ehc_child_search(text, jsonb), ehc_caseload(text, jsonb) TO ehc_app;
