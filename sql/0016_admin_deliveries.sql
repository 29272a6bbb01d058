-- Delivery failures, visible to each authority's admins through the API: the dead letters of the
-- outbox (webhooks and emails that ran out of tries), newest first.
CREATE FUNCTION ehc_dead_letters(p_authority_ids text, p_limit integer) RETURNS jsonb
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM set_config('ehc.authority_ids', p_authority_ids, true);
    RETURN coalesce((
        SELECT jsonb_agg(to_jsonb(d) ORDER BY d.dead_at DESC, d.id DESC)
        FROM (SELECT * FROM outbox_dead_letters ORDER BY dead_at DESC, id DESC LIMIT p_limit) AS d), '[]'::jsonb);
END
$$;
GRANT EXECUTE ON FUNCTION ehc_dead_letters(text, integer) TO ehc_app;

-- Reading a case records the read in the access log in the same transaction, so no case is ever
-- served without its read being recorded.
CREATE FUNCTION ehc_case_view_logged(p_authority_ids text, p_case_id bigint, p_authority_id bigint,
                                     p_user_id bigint, p_request_id text) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    v jsonb := ehc_case_view(p_authority_ids, p_case_id);
BEGIN
    IF v IS NOT NULL THEN
        INSERT INTO access_log (authority_id, user_id, case_id, action, resource, request_id)
        VALUES (p_authority_id, p_user_id, p_case_id, 'read', 'case', p_request_id);
    END IF;
    RETURN v;
END
$$;
GRANT EXECUTE ON FUNCTION ehc_case_view_logged(text, bigint, bigint, bigint, text) TO ehc_app;
