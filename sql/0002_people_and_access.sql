-- Who may do what, where: teams within an authority, the health and social-care services that
-- advise them (a DCO's NHS service may serve several authorities), role grants per authority and
-- team or service, API tokens for systems, browser sessions, and the access log of every read and
-- write of a case. Also the application's database role: it owns nothing and is subject to
-- row-level security (see 0005), and the helper that reads the authorities a session may see.

DO $$
BEGIN
    CREATE ROLE ehc_app NOLOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE;
EXCEPTION WHEN duplicate_object THEN
    NULL; -- roles are cluster-wide: another database of this cluster made it already
END
$$;

DO $$
BEGIN
    CREATE ROLE ehc_eraser NOLOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE;
EXCEPTION WHEN duplicate_object THEN
    NULL;
END
$$;

-- The migrating (owner) login may act as either role: ehcd serves as ehc_app, `ehcd erase` runs as
-- ehc_eraser.
GRANT ehc_app TO CURRENT_USER;
GRANT ehc_eraser TO CURRENT_USER;

-- The authorities the current transaction may see, set by the store with
-- set_config('ehc.authority_ids', '1,7', true). Unset or empty means none.
CREATE FUNCTION ehc_session_authorities() RETURNS bigint[]
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT coalesce(string_to_array(nullif(current_setting('ehc.authority_ids', true), ''), ',')::bigint[],
                    '{}'::bigint[])
$$;

CREATE TABLE teams (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    authority_id    bigint NOT NULL REFERENCES local_authorities (id),
    name            text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    created_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (authority_id, name),
    UNIQUE (authority_id, id)
);

-- Services that give advice under SEND Regs 2014 reg 6(1): an NHS trust's service (its ODS code),
-- a social-care team, an educational psychology service.
CREATE TABLE organisations (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name            text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    kind            text NOT NULL CHECK (kind IN ('health', 'social_care', 'educational_psychology',
                                                  'education', 'other')),
    ods_code        text CHECK (ods_code ~ '^[A-Z0-9]{3,10}$'),
    created_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (name, kind)
);

-- Which authorities an organisation serves.
CREATE TABLE organisation_authorities (
    organisation_id bigint NOT NULL REFERENCES organisations (id),
    authority_id    bigint NOT NULL REFERENCES local_authorities (id),
    PRIMARY KEY (organisation_id, authority_id)
);

-- A user's roles: officer and manager act within a team; service_manager across an authority;
-- dco and social_care for an organisation within an authority; admin for an authority.
CREATE TABLE role_grants (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id         bigint NOT NULL REFERENCES users (id),
    role            text NOT NULL CHECK (role IN ('officer', 'manager', 'service_manager', 'dco',
                                                  'social_care', 'admin')),
    authority_id    bigint NOT NULL REFERENCES local_authorities (id),
    team_id         bigint,
    organisation_id bigint REFERENCES organisations (id),
    granted_by      bigint REFERENCES users (id),
    granted_at      timestamptz NOT NULL DEFAULT now(),
    revoked_at      timestamptz,
    FOREIGN KEY (authority_id, team_id) REFERENCES teams (authority_id, id),
    CHECK (CASE role
               WHEN 'officer' THEN team_id IS NOT NULL AND organisation_id IS NULL
               WHEN 'manager' THEN team_id IS NOT NULL AND organisation_id IS NULL
               WHEN 'dco' THEN organisation_id IS NOT NULL AND team_id IS NULL
               WHEN 'social_care' THEN organisation_id IS NOT NULL AND team_id IS NULL
               ELSE team_id IS NULL AND organisation_id IS NULL
           END)
);
CREATE UNIQUE INDEX role_grants_active_unique
    ON role_grants (user_id, role, authority_id, coalesce(team_id, 0), coalesce(organisation_id, 0))
    WHERE revoked_at IS NULL;
CREATE INDEX role_grants_user ON role_grants (user_id) WHERE revoked_at IS NULL;

-- API tokens for other systems: the token is shown once; only its SHA-256 is kept.
CREATE TABLE api_tokens (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id         bigint NOT NULL REFERENCES users (id),
    name            text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    token_sha256    text NOT NULL UNIQUE CHECK (token_sha256 ~ '^[0-9a-f]{64}$'),
    created_at      timestamptz NOT NULL DEFAULT now(),
    last_used_at    timestamptz,
    revoked_at      timestamptz
);

-- Browser sessions: the cookie carries a random id; only its SHA-256 is kept, with the CSRF token
-- that every state-changing request must echo.
CREATE TABLE user_sessions (
    id_sha256       text PRIMARY KEY CHECK (id_sha256 ~ '^[0-9a-f]{64}$'),
    user_id         bigint NOT NULL REFERENCES users (id),
    csrf_token      text NOT NULL CHECK (length(csrf_token) >= 32),
    created_at      timestamptz NOT NULL DEFAULT now(),
    last_seen_at    timestamptz NOT NULL DEFAULT now(),
    expires_at      timestamptz NOT NULL,
    ended_at        timestamptz
);
CREATE INDEX user_sessions_user ON user_sessions (user_id);

-- Every read and write of a case: who, when, what, from where. Append-only for the application.
CREATE TABLE access_log (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at              timestamptz NOT NULL DEFAULT now(),
    authority_id    bigint NOT NULL REFERENCES local_authorities (id),
    user_id         bigint REFERENCES users (id),
    api_token_id    bigint REFERENCES api_tokens (id),
    case_id         bigint,
    action          text NOT NULL CHECK (action IN ('read', 'write', 'download', 'export', 'erase')),
    resource        text NOT NULL CHECK (length(resource) BETWEEN 1 AND 200),
    client_address  inet,
    request_id      text CHECK (length(request_id) <= 64)
);
CREATE INDEX access_log_case ON access_log (case_id, at);
