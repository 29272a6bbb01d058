-- Administration through the API (api/admin.c): users, role grants, teams, organisations and API
-- tokens, managed by an authority's admins (a role_grants row with role 'admin') for their own
-- authorities, or by a system administrator (users.is_admin) for any; and the access log of a case.
--
-- Every function takes the caller's context as one jsonb parameter, made by ehcd:
--   {"actor": user id, "authorities": "1,7" (the authorities the caller administers) or "*" (a system
--    administrator: every authority), "address": client address or null, "request_id": "..."}
-- binds its transaction to those authorities (row-level security then decides what exists: another
-- authority's user, team, grant or case is "not found"), and answers one jsonb envelope:
--   {"status": 200|201, "body": ...}  or  {"status": 4xx, "error": {"code", "message", "field"}}
-- Every change is written to admin_audit in the same transaction, one row per authority concerned.

-- The authority an administrator created a user in: with role grants, it decides which authorities'
-- admins see the user.
ALTER TABLE users ADD COLUMN created_in_authority_id bigint REFERENCES local_authorities (id);
CREATE INDEX users_created_in_authority ON users (created_in_authority_id)
    WHERE created_in_authority_id IS NOT NULL;

-- Who changed which user, team, grant, token or organisation, when, from where. Append-only for
-- everyone (like case_events); row-level security by authority like every other table.
CREATE TABLE admin_audit (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at              timestamptz NOT NULL DEFAULT now(),
    authority_id    bigint NOT NULL REFERENCES local_authorities (id),
    actor_id        bigint NOT NULL REFERENCES users (id),
    action          text NOT NULL CHECK (action IN ('user_created', 'grant_added', 'grant_revoked',
                                                    'password_reset', 'user_disabled', 'user_enabled',
                                                    'user_unlocked', 'token_created', 'token_revoked',
                                                    'team_created', 'organisation_created',
                                                    'organisation_linked')),
    target_user_id  bigint REFERENCES users (id),
    team_id         bigint REFERENCES teams (id),
    grant_id        bigint REFERENCES role_grants (id),
    api_token_id    bigint REFERENCES api_tokens (id),
    organisation_id bigint REFERENCES organisations (id),
    client_address  inet,
    request_id      text CHECK (length(request_id) <= 64)
);
CREATE INDEX admin_audit_authority_at ON admin_audit (authority_id, at);
CREATE INDEX admin_audit_target_user ON admin_audit (target_user_id) WHERE target_user_id IS NOT NULL;

CREATE FUNCTION ehc_refuse_audit_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'admin_audit is append-only: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
END
$$;
CREATE TRIGGER admin_audit_append_only BEFORE UPDATE OR DELETE ON admin_audit
    FOR EACH ROW EXECUTE FUNCTION ehc_refuse_audit_change();
CREATE TRIGGER admin_audit_no_truncate BEFORE TRUNCATE ON admin_audit
    FOR EACH STATEMENT EXECUTE FUNCTION ehc_refuse_audit_change();

ALTER TABLE admin_audit ENABLE ROW LEVEL SECURITY;
ALTER TABLE admin_audit FORCE ROW LEVEL SECURITY;
CREATE POLICY admin_audit_by_authority ON admin_audit
    USING (authority_id = ANY ((SELECT ehc_session_authorities())::bigint[]))
    WITH CHECK (authority_id = ANY ((SELECT ehc_session_authorities())::bigint[]));

GRANT SELECT, INSERT ON admin_audit TO ehc_app;
-- admins register the services that advise their authorities
GRANT INSERT ON organisations, organisation_authorities TO ehc_app;
GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO ehc_app;

-- ---- helpers ------------------------------------------------------------------------------------

-- Binds the transaction to the caller's authorities and returns them.
CREATE FUNCTION ehc__admin_bind(p_ctx jsonb) RETURNS bigint[]
LANGUAGE plpgsql AS $$
DECLARE
    v text := p_ctx ->> 'authorities';
BEGIN
    IF v = '*' THEN
        v := coalesce((SELECT string_agg(id::text, ',' ORDER BY id) FROM local_authorities), '');
    END IF;
    PERFORM set_config('ehc.authority_ids', coalesce(v, ''), true);
    RETURN ehc_session_authorities();
END
$$;

CREATE FUNCTION ehc__admin_error(p_status integer, p_code text, p_message text, p_field text) RETURNS jsonb
LANGUAGE sql IMMUTABLE AS $$
    SELECT jsonb_build_object('status', p_status,
                              'error', jsonb_build_object('code', p_code, 'message', p_message, 'field', p_field))
$$;

CREATE FUNCTION ehc__admin_ok(p_status integer, p_body jsonb) RETURNS jsonb
LANGUAGE sql IMMUTABLE AS $$
    SELECT jsonb_build_object('status', p_status, 'body', p_body)
$$;

CREATE FUNCTION ehc__admin_audit(p_ctx jsonb, p_authority_id bigint, p_action text, p_user_id bigint,
                                 p_team_id bigint, p_grant_id bigint, p_token_id bigint,
                                 p_organisation_id bigint) RETURNS void
LANGUAGE sql AS $$
    INSERT INTO admin_audit (authority_id, actor_id, action, target_user_id, team_id, grant_id, api_token_id,
                             organisation_id, client_address, request_id)
    VALUES (p_authority_id, (p_ctx ->> 'actor')::bigint, p_action, p_user_id, p_team_id, p_grant_id, p_token_id,
            p_organisation_id, (p_ctx ->> 'address')::inet, left(p_ctx ->> 'request_id', 64));
$$;

-- The authorities (of the bound ones) a user belongs to: a grant there, revoked or not, or created
-- there by an admin. Empty: the user does not exist for this caller.
CREATE FUNCTION ehc__admin_user_authorities(p_user_id bigint) RETURNS bigint[]
LANGUAGE sql STABLE AS $$
    SELECT coalesce(array_agg(DISTINCT a ORDER BY a), '{}'::bigint[])
    FROM (SELECT g.authority_id AS a FROM role_grants g WHERE g.user_id = p_user_id
          UNION
          SELECT u.created_in_authority_id FROM users u
          WHERE u.id = p_user_id AND u.created_in_authority_id = ANY (ehc_session_authorities())) AS x
$$;

-- Whether the user holds a live grant in an authority outside p_scope. It looks across every
-- authority, so it binds the transaction to all of them for its one query and then restores the
-- caller's binding (an error aborts the whole transaction anyway). It answers only yes or no.
CREATE FUNCTION ehc__admin_user_reaches_beyond(p_user_id bigint, p_scope bigint[]) RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
    v_bound text := coalesce(current_setting('ehc.authority_ids', true), '');
    v_beyond boolean;
BEGIN
    PERFORM set_config('ehc.authority_ids',
                       coalesce((SELECT string_agg(id::text, ',') FROM local_authorities), ''), true);
    v_beyond := EXISTS (SELECT 1 FROM role_grants g
                        WHERE g.user_id = p_user_id AND g.revoked_at IS NULL AND NOT (g.authority_id = ANY (p_scope)))
             OR EXISTS (SELECT 1 FROM users u
                        WHERE u.id = p_user_id AND u.created_in_authority_id IS NOT NULL
                          AND NOT (u.created_in_authority_id = ANY (p_scope)));
    PERFORM set_config('ehc.authority_ids', v_bound, true);
    RETURN v_beyond;
END
$$;

-- Whether the caller may change a user's credentials or state: NULL when yes, else the refusal. A
-- user the caller cannot see is not found; a system administrator, or a user who also works for an
-- authority the caller does not administer, is managed only by a system administrator (a password
-- set by one authority's admin must not open another authority's cases).
CREATE FUNCTION ehc__admin_may_manage(p_ctx jsonb, p_user_id bigint, p_scope bigint[]) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    v_is_admin boolean;
BEGIN
    SELECT u.is_admin INTO v_is_admin FROM users u WHERE u.id = p_user_id;
    IF NOT FOUND OR (p_ctx ->> 'authorities' <> '*' AND cardinality(ehc__admin_user_authorities(p_user_id)) = 0) THEN
        RETURN ehc__admin_error(404, 'not_found', 'no such user', NULL);
    END IF;
    IF p_ctx ->> 'authorities' = '*' THEN
        RETURN NULL;
    END IF;
    IF v_is_admin OR ehc__admin_user_reaches_beyond(p_user_id, p_scope) THEN
        RETURN ehc__admin_error(403, 'forbidden',
                                'this user is a system administrator or also works for an authority you do not '
                                'administer: a system administrator manages them', NULL);
    END IF;
    RETURN NULL;
END
$$;

CREATE FUNCTION ehc__admin_grant_json(p_grant_id bigint) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object('id', g.id, 'user_id', g.user_id, 'role', g.role, 'authority_id', g.authority_id,
                              'team_id', g.team_id, 'organisation_id', g.organisation_id,
                              'granted_by', g.granted_by, 'granted_at', g.granted_at,
                              'revoked', g.revoked_at IS NOT NULL, 'revoked_at', g.revoked_at)
    FROM role_grants g WHERE g.id = p_grant_id
$$;

-- A user as an admin sees them: never the password hash; only the grants of the bound authorities.
CREATE FUNCTION ehc__admin_user_json(p_user_id bigint) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
               'id', u.id, 'username', u.username, 'display_name', u.display_name, 'is_admin', u.is_admin,
               'disabled', u.disabled_at IS NOT NULL, 'disabled_at', u.disabled_at,
               'locked', coalesce(u.locked_until > now(), false), 'locked_until', u.locked_until,
               'created_in_authority_id', u.created_in_authority_id, 'created_at', u.created_at,
               'grants', coalesce((SELECT jsonb_agg(ehc__admin_grant_json(g.id) ORDER BY g.id)
                                   FROM role_grants g WHERE g.user_id = u.id), '[]'::jsonb))
    FROM users u WHERE u.id = p_user_id
$$;

-- Checks a grant the way role_grants' CHECK and foreign keys would, naming the field at fault
-- (p_prefix + field name); NULL when it may be made. p_grant: {role, authority_id, team_id?,
-- organisation_id?} with types already checked by ehcd.
CREATE FUNCTION ehc__admin_grant_refusal(p_ctx jsonb, p_scope bigint[], p_grant jsonb, p_prefix text)
RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    v_role text := p_grant ->> 'role';
    v_authority bigint := (p_grant ->> 'authority_id')::bigint;
    v_team bigint := (p_grant ->> 'team_id')::bigint;
    v_org bigint := (p_grant ->> 'organisation_id')::bigint;
BEGIN
    IF v_role IS NULL OR v_role NOT IN ('officer', 'manager', 'service_manager', 'dco', 'social_care', 'admin') THEN
        RETURN ehc__admin_error(422, 'invalid_field',
                                'role must be one of officer, manager, service_manager, dco, social_care, admin',
                                p_prefix || 'role');
    END IF;
    IF NOT EXISTS (SELECT 1 FROM local_authorities a WHERE a.id = v_authority) THEN
        RETURN ehc__admin_error(422, 'invalid_field', 'no such authority', p_prefix || 'authority_id');
    END IF;
    IF NOT (v_authority = ANY (p_scope)) THEN
        RETURN ehc__admin_error(403, 'forbidden', 'you do not administer that authority', p_prefix || 'authority_id');
    END IF;
    IF v_role IN ('officer', 'manager') THEN
        IF v_team IS NULL THEN
            RETURN ehc__admin_error(422, 'invalid_field', 'an officer or manager grant needs a team_id',
                                    p_prefix || 'team_id');
        END IF;
        IF v_org IS NOT NULL THEN
            RETURN ehc__admin_error(422, 'invalid_field', 'an officer or manager grant has no organisation_id',
                                    p_prefix || 'organisation_id');
        END IF;
        IF NOT EXISTS (SELECT 1 FROM teams t WHERE t.id = v_team AND t.authority_id = v_authority) THEN
            RETURN ehc__admin_error(422, 'invalid_field', 'team_id is not a team of that authority',
                                    p_prefix || 'team_id');
        END IF;
    ELSIF v_role IN ('dco', 'social_care') THEN
        IF v_org IS NULL THEN
            RETURN ehc__admin_error(422, 'invalid_field', 'a dco or social_care grant needs an organisation_id',
                                    p_prefix || 'organisation_id');
        END IF;
        IF v_team IS NOT NULL THEN
            RETURN ehc__admin_error(422, 'invalid_field', 'a dco or social_care grant has no team_id',
                                    p_prefix || 'team_id');
        END IF;
        IF NOT EXISTS (SELECT 1 FROM organisation_authorities oa
                       WHERE oa.organisation_id = v_org AND oa.authority_id = v_authority) THEN
            RETURN ehc__admin_error(422, 'invalid_field', 'organisation_id does not serve that authority',
                                    p_prefix || 'organisation_id');
        END IF;
    ELSE
        IF v_team IS NOT NULL THEN
            RETURN ehc__admin_error(422, 'invalid_field', 'a ' || v_role || ' grant has no team_id',
                                    p_prefix || 'team_id');
        END IF;
        IF v_org IS NOT NULL THEN
            RETURN ehc__admin_error(422, 'invalid_field', 'a ' || v_role || ' grant has no organisation_id',
                                    p_prefix || 'organisation_id');
        END IF;
    END IF;
    RETURN NULL;
END
$$;

CREATE FUNCTION ehc__admin_grant_insert(p_ctx jsonb, p_user_id bigint, p_grant jsonb) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    v_id bigint;
BEGIN
    INSERT INTO role_grants (user_id, role, authority_id, team_id, organisation_id, granted_by)
    VALUES (p_user_id, p_grant ->> 'role', (p_grant ->> 'authority_id')::bigint, (p_grant ->> 'team_id')::bigint,
            (p_grant ->> 'organisation_id')::bigint, (p_ctx ->> 'actor')::bigint)
    RETURNING id INTO v_id;
    PERFORM ehc__admin_audit(p_ctx, (p_grant ->> 'authority_id')::bigint, 'grant_added', p_user_id,
                             (p_grant ->> 'team_id')::bigint, v_id, NULL, (p_grant ->> 'organisation_id')::bigint);
    RETURN v_id;
END
$$;

-- Ends a user's browser sessions.
CREATE FUNCTION ehc__admin_end_sessions(p_user_id bigint) RETURNS void
LANGUAGE sql AS $$
    UPDATE user_sessions SET ended_at = now() WHERE user_id = p_user_id AND ended_at IS NULL;
$$;

-- One audit row per authority (of the caller's) the user belongs to.
CREATE FUNCTION ehc__admin_audit_user(p_ctx jsonb, p_action text, p_user_id bigint, p_token_id bigint)
RETURNS void
LANGUAGE sql AS $$
    INSERT INTO admin_audit (authority_id, actor_id, action, target_user_id, api_token_id, client_address,
                             request_id)
    SELECT a, (p_ctx ->> 'actor')::bigint, p_action, p_user_id, p_token_id, (p_ctx ->> 'address')::inet,
           left(p_ctx ->> 'request_id', 64)
    FROM unnest(ehc__admin_user_authorities(p_user_id)) AS a;
$$;

-- ---- users ----------------------------------------------------------------------------------------

CREATE FUNCTION ehc_admin_users(p_ctx jsonb, p_limit integer, p_offset integer) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    v_scope bigint[] := ehc__admin_bind(p_ctx);
BEGIN
    RETURN ehc__admin_ok(200, coalesce((
        SELECT jsonb_agg(ehc__admin_user_json(u.id) ORDER BY u.username)
        FROM (SELECT u.id, u.username FROM users u
              WHERE u.created_in_authority_id = ANY (v_scope)
                 OR EXISTS (SELECT 1 FROM role_grants g WHERE g.user_id = u.id)
              ORDER BY u.username LIMIT p_limit OFFSET p_offset) AS u), '[]'::jsonb));
END
$$;

-- p_user: {username, display_name, authority_id, grants: [{role, authority_id, team_id?,
-- organisation_id?}]} (ehcd fills each grant's authority_id from the user's when absent).
CREATE FUNCTION ehc_admin_user_create(p_ctx jsonb, p_user jsonb, p_password_hash text) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    v_scope bigint[] := ehc__admin_bind(p_ctx);
    v_authority bigint := (p_user ->> 'authority_id')::bigint;
    v_refusal jsonb;
    v_user bigint;
    v_grant jsonb;
    v_i integer := 0;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM local_authorities a WHERE a.id = v_authority) THEN
        RETURN ehc__admin_error(422, 'invalid_field', 'no such authority', 'authority_id');
    END IF;
    IF NOT (v_authority = ANY (v_scope)) THEN
        RETURN ehc__admin_error(403, 'forbidden', 'you do not administer that authority', 'authority_id');
    END IF;
    IF EXISTS (SELECT 1 FROM users u WHERE u.username = p_user ->> 'username') THEN
        RETURN ehc__admin_error(409, 'conflict', 'that username is taken', 'username');
    END IF;
    FOR v_grant IN SELECT x FROM jsonb_array_elements(coalesce(p_user -> 'grants', '[]'::jsonb)) AS x LOOP
        v_refusal := ehc__admin_grant_refusal(p_ctx, v_scope, v_grant, 'grants[' || v_i || '].');
        IF v_refusal IS NOT NULL THEN
            RETURN v_refusal;
        END IF;
        v_i := v_i + 1;
    END LOOP;
    BEGIN
        INSERT INTO users (username, display_name, password_hash, created_in_authority_id)
        VALUES (p_user ->> 'username', p_user ->> 'display_name', p_password_hash, v_authority)
        RETURNING id INTO v_user;
        PERFORM ehc__admin_audit(p_ctx, v_authority, 'user_created', v_user, NULL, NULL, NULL, NULL);
        FOR v_grant IN SELECT x FROM jsonb_array_elements(coalesce(p_user -> 'grants', '[]'::jsonb)) AS x LOOP
            PERFORM ehc__admin_grant_insert(p_ctx, v_user, v_grant);
        END LOOP;
    EXCEPTION WHEN unique_violation THEN
        -- a concurrent request took the username, or the same grant was listed twice
        RETURN ehc__admin_error(409, 'conflict', 'that username is taken, or a grant is listed twice', 'username');
    END;
    RETURN ehc__admin_ok(201, ehc__admin_user_json(v_user));
END
$$;

CREATE FUNCTION ehc_admin_grant_add(p_ctx jsonb, p_user_id bigint, p_grant jsonb) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    v_scope bigint[] := ehc__admin_bind(p_ctx);
    v_refusal jsonb;
    v_id bigint;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM users u WHERE u.id = p_user_id)
       OR (p_ctx ->> 'authorities' <> '*' AND cardinality(ehc__admin_user_authorities(p_user_id)) = 0) THEN
        RETURN ehc__admin_error(404, 'not_found', 'no such user', NULL);
    END IF;
    v_refusal := ehc__admin_grant_refusal(p_ctx, v_scope, p_grant, '');
    IF v_refusal IS NOT NULL THEN
        RETURN v_refusal;
    END IF;
    IF EXISTS (SELECT 1 FROM role_grants g
               WHERE g.user_id = p_user_id AND g.role = p_grant ->> 'role' AND g.revoked_at IS NULL
                 AND g.authority_id = (p_grant ->> 'authority_id')::bigint
                 AND g.team_id IS NOT DISTINCT FROM (p_grant ->> 'team_id')::bigint
                 AND g.organisation_id IS NOT DISTINCT FROM (p_grant ->> 'organisation_id')::bigint) THEN
        RETURN ehc__admin_error(409, 'conflict', 'the user already holds that grant', 'role');
    END IF;
    BEGIN
        v_id := ehc__admin_grant_insert(p_ctx, p_user_id, p_grant);
    EXCEPTION WHEN unique_violation THEN
        RETURN ehc__admin_error(409, 'conflict', 'the user already holds that grant', 'role');
    END;
    RETURN ehc__admin_ok(201, ehc__admin_grant_json(v_id));
END
$$;

CREATE FUNCTION ehc_admin_grant_revoke(p_ctx jsonb, p_grant_id bigint) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    v_scope bigint[] := ehc__admin_bind(p_ctx);
    v_grant role_grants;
BEGIN
    -- row-level security hides another authority's grants
    SELECT * INTO v_grant FROM role_grants g WHERE g.id = p_grant_id FOR UPDATE;
    IF NOT FOUND OR NOT (v_grant.authority_id = ANY (v_scope)) THEN
        RETURN ehc__admin_error(404, 'not_found', 'no such grant', NULL);
    END IF;
    IF v_grant.revoked_at IS NOT NULL THEN
        RETURN ehc__admin_error(409, 'conflict', 'the grant is already revoked', NULL);
    END IF;
    UPDATE role_grants SET revoked_at = now() WHERE id = p_grant_id;
    PERFORM ehc__admin_audit(p_ctx, v_grant.authority_id, 'grant_revoked', v_grant.user_id, v_grant.team_id,
                             v_grant.id, NULL, v_grant.organisation_id);
    RETURN ehc__admin_ok(200, ehc__admin_grant_json(p_grant_id));
END
$$;

-- A new one-time password (hashed by ehcd); the user's sessions end and a lock-out is cleared.
CREATE FUNCTION ehc_admin_password_reset(p_ctx jsonb, p_user_id bigint, p_password_hash text) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    v_scope bigint[] := ehc__admin_bind(p_ctx);
    v_refusal jsonb := ehc__admin_may_manage(p_ctx, p_user_id, v_scope);
BEGIN
    IF v_refusal IS NOT NULL THEN
        RETURN v_refusal;
    END IF;
    UPDATE users SET password_hash = p_password_hash, failed_logins = 0, locked_until = NULL WHERE id = p_user_id;
    PERFORM ehc__admin_end_sessions(p_user_id);
    PERFORM ehc__admin_audit_user(p_ctx, 'password_reset', p_user_id, NULL);
    RETURN ehc__admin_ok(200, ehc__admin_user_json(p_user_id));
END
$$;

-- p_action: 'disable' (the user's sessions end; tokens stop working while disabled), 'enable',
-- 'unlock' (clears a lock-out after wrong passwords).
CREATE FUNCTION ehc_admin_user_state(p_ctx jsonb, p_user_id bigint, p_action text) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    v_scope bigint[] := ehc__admin_bind(p_ctx);
    v_refusal jsonb := ehc__admin_may_manage(p_ctx, p_user_id, v_scope);
BEGIN
    IF v_refusal IS NOT NULL THEN
        RETURN v_refusal;
    END IF;
    IF p_action = 'disable' THEN
        IF p_user_id = (p_ctx ->> 'actor')::bigint THEN
            RETURN ehc__admin_error(409, 'conflict', 'you cannot disable yourself', NULL);
        END IF;
        UPDATE users SET disabled_at = coalesce(disabled_at, now()) WHERE id = p_user_id;
        PERFORM ehc__admin_end_sessions(p_user_id);
        PERFORM ehc__admin_audit_user(p_ctx, 'user_disabled', p_user_id, NULL);
    ELSIF p_action = 'enable' THEN
        UPDATE users SET disabled_at = NULL WHERE id = p_user_id;
        PERFORM ehc__admin_audit_user(p_ctx, 'user_enabled', p_user_id, NULL);
    ELSIF p_action = 'unlock' THEN
        UPDATE users SET failed_logins = 0, locked_until = NULL WHERE id = p_user_id;
        PERFORM ehc__admin_audit_user(p_ctx, 'user_unlocked', p_user_id, NULL);
    ELSE
        RAISE EXCEPTION 'unknown user action %', p_action;
    END IF;
    RETURN ehc__admin_ok(200, ehc__admin_user_json(p_user_id));
END
$$;

-- ---- API tokens -----------------------------------------------------------------------------------

CREATE FUNCTION ehc__admin_token_json(p_token_id bigint) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object('id', t.id, 'user_id', t.user_id, 'name', t.name, 'created_at', t.created_at,
                              'last_used_at', t.last_used_at, 'revoked', t.revoked_at IS NOT NULL,
                              'revoked_at', t.revoked_at)
    FROM api_tokens t WHERE t.id = p_token_id
$$;

CREATE FUNCTION ehc_admin_tokens(p_ctx jsonb, p_user_id bigint) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    v_scope bigint[] := ehc__admin_bind(p_ctx);
BEGIN
    IF NOT EXISTS (SELECT 1 FROM users u WHERE u.id = p_user_id)
       OR (p_ctx ->> 'authorities' <> '*' AND cardinality(ehc__admin_user_authorities(p_user_id)) = 0) THEN
        RETURN ehc__admin_error(404, 'not_found', 'no such user', NULL);
    END IF;
    RETURN ehc__admin_ok(200, coalesce((SELECT jsonb_agg(ehc__admin_token_json(t.id) ORDER BY t.id)
                                        FROM api_tokens t WHERE t.user_id = p_user_id), '[]'::jsonb));
END
$$;

-- The token itself is made by ehcd and shown once; only its SHA-256 is kept.
CREATE FUNCTION ehc_admin_token_create(p_ctx jsonb, p_user_id bigint, p_name text, p_token_sha256 text)
RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    v_scope bigint[] := ehc__admin_bind(p_ctx);
    v_refusal jsonb := ehc__admin_may_manage(p_ctx, p_user_id, v_scope);
    v_id bigint;
BEGIN
    IF v_refusal IS NOT NULL THEN
        RETURN v_refusal;
    END IF;
    INSERT INTO api_tokens (user_id, name, token_sha256) VALUES (p_user_id, p_name, p_token_sha256)
    RETURNING id INTO v_id;
    PERFORM ehc__admin_audit_user(p_ctx, 'token_created', p_user_id, v_id);
    RETURN ehc__admin_ok(201, ehc__admin_token_json(v_id));
END
$$;

-- Revoking protects, so any admin who sees the token's user may do it.
CREATE FUNCTION ehc_admin_token_revoke(p_ctx jsonb, p_token_id bigint) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    v_scope bigint[] := ehc__admin_bind(p_ctx);
    v_user bigint;
    v_revoked timestamptz;
BEGIN
    SELECT t.user_id, t.revoked_at INTO v_user, v_revoked FROM api_tokens t WHERE t.id = p_token_id FOR UPDATE;
    IF NOT FOUND OR (p_ctx ->> 'authorities' <> '*' AND cardinality(ehc__admin_user_authorities(v_user)) = 0) THEN
        RETURN ehc__admin_error(404, 'not_found', 'no such token', NULL);
    END IF;
    IF v_revoked IS NOT NULL THEN
        RETURN ehc__admin_error(409, 'conflict', 'the token is already revoked', NULL);
    END IF;
    UPDATE api_tokens SET revoked_at = now() WHERE id = p_token_id;
    PERFORM ehc__admin_audit_user(p_ctx, 'token_revoked', v_user, p_token_id);
    RETURN ehc__admin_ok(200, ehc__admin_token_json(p_token_id));
END
$$;

-- ---- teams and organisations ----------------------------------------------------------------------

CREATE FUNCTION ehc_admin_teams(p_ctx jsonb) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    v_scope bigint[] := ehc__admin_bind(p_ctx);
BEGIN
    RETURN ehc__admin_ok(200, coalesce((
        SELECT jsonb_agg(jsonb_build_object('id', t.id, 'authority_id', t.authority_id, 'name', t.name,
                                            'created_at', t.created_at) ORDER BY t.authority_id, t.name)
        FROM teams t WHERE t.authority_id = ANY (v_scope)), '[]'::jsonb));
END
$$;

CREATE FUNCTION ehc_admin_team_create(p_ctx jsonb, p_authority_id bigint, p_name text) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    v_scope bigint[] := ehc__admin_bind(p_ctx);
    v_id bigint;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM local_authorities a WHERE a.id = p_authority_id) THEN
        RETURN ehc__admin_error(422, 'invalid_field', 'no such authority', 'authority_id');
    END IF;
    IF NOT (p_authority_id = ANY (v_scope)) THEN
        RETURN ehc__admin_error(403, 'forbidden', 'you do not administer that authority', 'authority_id');
    END IF;
    IF EXISTS (SELECT 1 FROM teams t WHERE t.authority_id = p_authority_id AND t.name = p_name) THEN
        RETURN ehc__admin_error(409, 'conflict', 'the authority already has a team of that name', 'name');
    END IF;
    BEGIN
        INSERT INTO teams (authority_id, name) VALUES (p_authority_id, p_name) RETURNING id INTO v_id;
    EXCEPTION WHEN unique_violation THEN
        RETURN ehc__admin_error(409, 'conflict', 'the authority already has a team of that name', 'name');
    END;
    PERFORM ehc__admin_audit(p_ctx, p_authority_id, 'team_created', NULL, v_id, NULL, NULL, NULL);
    RETURN ehc__admin_ok(201, (SELECT jsonb_build_object('id', t.id, 'authority_id', t.authority_id, 'name', t.name,
                                                         'created_at', t.created_at)
                               FROM teams t WHERE t.id = v_id));
END
$$;

CREATE FUNCTION ehc__admin_organisation_json(p_org_id bigint) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object('id', o.id, 'name', o.name, 'kind', o.kind, 'ods_code', o.ods_code,
                              'created_at', o.created_at,
                              'authority_ids', coalesce((SELECT jsonb_agg(oa.authority_id ORDER BY oa.authority_id)
                                                         FROM organisation_authorities oa
                                                         WHERE oa.organisation_id = o.id), '[]'::jsonb))
    FROM organisations o WHERE o.id = p_org_id
$$;

-- The services serving the caller's authorities; p_all: every registered service (reference data,
-- to find one to link).
CREATE FUNCTION ehc_admin_organisations(p_ctx jsonb, p_all boolean) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    v_scope bigint[] := ehc__admin_bind(p_ctx);
BEGIN
    RETURN ehc__admin_ok(200, coalesce((
        SELECT jsonb_agg(ehc__admin_organisation_json(o.id) ORDER BY o.name, o.id)
        FROM organisations o
        WHERE p_all OR EXISTS (SELECT 1 FROM organisation_authorities oa
                               WHERE oa.organisation_id = o.id AND oa.authority_id = ANY (v_scope))), '[]'::jsonb));
END
$$;

-- p_org: {name, kind, ods_code?, authority_ids} registers a service; {organisation_id, authority_ids}
-- links one already registered (by another authority: a DCO's NHS service serves several) to more
-- of the caller's authorities.
CREATE FUNCTION ehc_admin_organisation_save(p_ctx jsonb, p_org jsonb) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    v_scope bigint[] := ehc__admin_bind(p_ctx);
    v_id bigint := (p_org ->> 'organisation_id')::bigint;
    v_authority bigint;
    v_status integer := 200;
    v_action text := 'organisation_linked';
BEGIN
    FOR v_authority IN SELECT (x #>> '{}')::bigint FROM jsonb_array_elements(p_org -> 'authority_ids') AS x LOOP
        IF NOT EXISTS (SELECT 1 FROM local_authorities a WHERE a.id = v_authority) THEN
            RETURN ehc__admin_error(422, 'invalid_field', 'no such authority', 'authority_ids');
        END IF;
        IF NOT (v_authority = ANY (v_scope)) THEN
            RETURN ehc__admin_error(403, 'forbidden', 'you do not administer every one of those authorities',
                                    'authority_ids');
        END IF;
    END LOOP;
    IF v_id IS NULL THEN
        IF EXISTS (SELECT 1 FROM organisations o WHERE o.name = p_org ->> 'name' AND o.kind = p_org ->> 'kind') THEN
            RETURN ehc__admin_error(409, 'conflict',
                                    'that organisation is registered already: link it with organisation_id', 'name');
        END IF;
        BEGIN
            INSERT INTO organisations (name, kind, ods_code) VALUES (p_org ->> 'name', p_org ->> 'kind', p_org ->> 'ods_code')
            RETURNING id INTO v_id;
        EXCEPTION WHEN unique_violation THEN
            RETURN ehc__admin_error(409, 'conflict',
                                    'that organisation is registered already: link it with organisation_id', 'name');
        END;
        v_status := 201;
        v_action := 'organisation_created';
    ELSIF NOT EXISTS (SELECT 1 FROM organisations o WHERE o.id = v_id) THEN
        RETURN ehc__admin_error(404, 'not_found', 'no such organisation', 'organisation_id');
    END IF;
    FOR v_authority IN SELECT DISTINCT (x #>> '{}')::bigint FROM jsonb_array_elements(p_org -> 'authority_ids') AS x LOOP
        INSERT INTO organisation_authorities (organisation_id, authority_id) VALUES (v_id, v_authority)
        ON CONFLICT DO NOTHING;
        IF FOUND OR v_status = 201 THEN
            PERFORM ehc__admin_audit(p_ctx, v_authority, v_action, NULL, NULL, NULL, NULL, v_id);
        END IF;
    END LOOP;
    RETURN ehc__admin_ok(v_status, ehc__admin_organisation_json(v_id));
END
$$;

-- ---- the access log of a case -----------------------------------------------------------------------

CREATE FUNCTION ehc_admin_case_access_log(p_ctx jsonb, p_case_id bigint, p_limit integer, p_offset integer)
RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    v_scope bigint[] := ehc__admin_bind(p_ctx);
BEGIN
    -- row-level security hides another authority's case
    IF NOT EXISTS (SELECT 1 FROM cases c WHERE c.id = p_case_id) THEN
        RETURN ehc__admin_error(404, 'not_found', 'no such case', NULL);
    END IF;
    RETURN ehc__admin_ok(200, coalesce((
        SELECT jsonb_agg(jsonb_build_object('id', l.id, 'at', l.at, 'user_id', l.user_id, 'username', u.username,
                                            'api_token_id', l.api_token_id, 'action', l.action,
                                            'resource', l.resource, 'client_address', host(l.client_address),
                                            'request_id', l.request_id) ORDER BY l.at DESC, l.id DESC)
        FROM (SELECT * FROM access_log l WHERE l.case_id = p_case_id
              ORDER BY l.at DESC, l.id DESC LIMIT p_limit OFFSET p_offset) AS l
        LEFT JOIN users u ON u.id = l.user_id), '[]'::jsonb));
END
$$;

GRANT EXECUTE ON FUNCTION ehc_admin_users(jsonb, integer, integer), ehc_admin_user_create(jsonb, jsonb, text),
    ehc_admin_grant_add(jsonb, bigint, jsonb), ehc_admin_grant_revoke(jsonb, bigint),
    ehc_admin_password_reset(jsonb, bigint, text), ehc_admin_user_state(jsonb, bigint, text),
    ehc_admin_tokens(jsonb, bigint), ehc_admin_token_create(jsonb, bigint, text, text),
    ehc_admin_token_revoke(jsonb, bigint), ehc_admin_teams(jsonb), ehc_admin_team_create(jsonb, bigint, text),
    ehc_admin_organisations(jsonb, boolean), ehc_admin_organisation_save(jsonb, jsonb),
    ehc_admin_case_access_log(jsonb, bigint, integer, integer) TO ehc_app;
