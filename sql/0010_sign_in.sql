-- Signing in. A browser session is a random id in an HttpOnly cookie, stored here only as its
-- SHA-256, with the CSRF token that every state-changing request must echo; a system signs in with
-- an API token, also stored as a SHA-256. ehc_principal() resolves either to the user and all their
-- role grants; it reads grants across authorities (that is its job), so it is the one function that
-- binds its own transaction to every authority, and it returns nothing about any child.

CREATE FUNCTION ehc_principal(p_session_sha256 text, p_token_sha256 text) RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    v_user bigint;
    v_csrf text;
    v_via text;
    v_token bigint;
    v_result jsonb;
BEGIN
    IF p_session_sha256 IS NOT NULL THEN
        SELECT s.user_id, s.csrf_token INTO v_user, v_csrf FROM user_sessions s
        WHERE s.id_sha256 = p_session_sha256 AND s.ended_at IS NULL AND s.expires_at > now()
          AND s.last_seen_at > now() - interval '2 hours';
        IF FOUND THEN
            v_via := 'session';
            UPDATE user_sessions SET last_seen_at = now()
            WHERE id_sha256 = p_session_sha256 AND last_seen_at < now() - interval '1 minute';
        END IF;
    END IF;
    IF v_user IS NULL AND p_token_sha256 IS NOT NULL THEN
        SELECT t.user_id, t.id INTO v_user, v_token FROM api_tokens t
        WHERE t.token_sha256 = p_token_sha256 AND t.revoked_at IS NULL;
        IF FOUND THEN
            v_via := 'token';
            UPDATE api_tokens SET last_used_at = now()
            WHERE id = v_token AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute');
        END IF;
    END IF;
    IF v_user IS NULL THEN
        RETURN NULL;
    END IF;
    PERFORM set_config('ehc.authority_ids', coalesce((SELECT string_agg(id::text, ',') FROM local_authorities), ''), true);
    SELECT jsonb_build_object(
               'user_id', u.id, 'username', u.username, 'display_name', u.display_name, 'is_admin', u.is_admin,
               'via', v_via, 'csrf_token', v_csrf, 'api_token_id', v_token,
               'grants', coalesce((SELECT jsonb_agg(jsonb_build_object(
                                      'role', g.role, 'authority_id', g.authority_id, 'team_id', g.team_id,
                                      'organisation_id', g.organisation_id) ORDER BY g.id)
                                   FROM role_grants g WHERE g.user_id = u.id AND g.revoked_at IS NULL), '[]'::jsonb))
    INTO v_result
    FROM users u WHERE u.id = v_user AND u.disabled_at IS NULL;
    RETURN v_result;
END
$$;

-- A failed password: count it, and lock the account for 15 minutes after 5 in a row.
CREATE FUNCTION ehc_sign_in_failed(p_user_id bigint) RETURNS timestamptz
LANGUAGE sql AS $$
    UPDATE users SET failed_logins = failed_logins + 1,
                     locked_until = CASE WHEN failed_logins + 1 >= 5 THEN now() + interval '15 minutes' END
    WHERE id = p_user_id
    RETURNING locked_until
$$;

-- A good password: reset the count and open a session (12 hours at most, 2 hours idle).
CREATE FUNCTION ehc_sign_in_succeeded(p_user_id bigint, p_session_sha256 text, p_csrf text) RETURNS void
LANGUAGE sql AS $$
    UPDATE users SET failed_logins = 0, locked_until = NULL WHERE id = p_user_id;
    INSERT INTO user_sessions (id_sha256, user_id, csrf_token, expires_at)
    VALUES (p_session_sha256, p_user_id, p_csrf, now() + interval '12 hours');
$$;

REVOKE EXECUTE ON FUNCTION ehc_principal(text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION ehc_principal(text, text), ehc_sign_in_failed(bigint),
    ehc_sign_in_succeeded(bigint, text, text) TO ehc_app;
