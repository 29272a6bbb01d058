-- Foundation: the local authorities this installation serves, and the people and systems that
-- sign in. Roles per authority and team, cases and the event log come in later migrations.

CREATE TABLE local_authorities (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- DfE's three-digit local authority code (e.g. 353 Oldham, 357 Tameside), as used in SEN2.
    dfe_code    text NOT NULL UNIQUE CHECK (dfe_code ~ '^[0-9]{3}$'),
    name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE users (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    username        text NOT NULL UNIQUE CHECK (username ~ '^[a-z0-9][a-z0-9._-]{1,63}$'),
    display_name    text NOT NULL CHECK (length(display_name) BETWEEN 1 AND 200),
    -- Argon2id in its PHC string encoding; NULL means the account cannot sign in with a password.
    password_hash   text CHECK (password_hash IS NULL OR password_hash LIKE '$argon2id$%'),
    is_admin        boolean NOT NULL DEFAULT false,
    failed_logins   integer NOT NULL DEFAULT 0 CHECK (failed_logins >= 0),
    locked_until    timestamptz,
    disabled_at     timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now()
);
