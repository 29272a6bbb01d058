-- The case record: the append-only event log (the truth), the case projection rebuilt from it,
-- one row per statutory date per clock, advice requests, exceptions, alerts and the outbox of
-- notifications. A command writes its event and every projection change in one transaction.
-- Event payloads hold no personal data: people are referenced by id.

CREATE TABLE cases (
    id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    authority_id        bigint NOT NULL REFERENCES local_authorities (id),
    reference           text NOT NULL CHECK (reference ~ '^[A-Z0-9][A-Z0-9-]{2,31}$'),
    child_id            bigint NOT NULL,
    -- the workflow and calendars this case runs under, pinned by content hash
    workflow_id         text NOT NULL CHECK (workflow_id ~ '^[a-z0-9_-]{1,63}$'),
    workflow_sha256     text NOT NULL CHECK (workflow_sha256 ~ '^[0-9a-f]{64}$'),
    calendar_sha256     text NOT NULL CHECK (calendar_sha256 ~ '^[0-9a-f]{64}$'),
    stage               text NOT NULL CHECK (stage ~ '^[a-z0-9_-]{1,63}$'),
    status              text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'closed')),
    team_id             bigint,
    officer_id          bigint REFERENCES users (id),
    -- Day 0 of the statutory clocks: the date the request was received (CFA s36(1))
    opened_on           date NOT NULL,
    closed_on           date,
    -- optimistic concurrency: the sequence number of the last event; a command names the version
    -- it read and fails (409) if another command got there first
    version             integer NOT NULL DEFAULT 0 CHECK (version >= 0),
    migrated            boolean NOT NULL DEFAULT false,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    UNIQUE (authority_id, reference),
    UNIQUE (authority_id, id),
    FOREIGN KEY (authority_id, child_id) REFERENCES children (authority_id, id),
    FOREIGN KEY (authority_id, team_id) REFERENCES teams (authority_id, id),
    CHECK ((status = 'closed') = (closed_on IS NOT NULL)),
    CHECK (closed_on IS NULL OR closed_on >= opened_on)
);
CREATE INDEX cases_authority_stage ON cases (authority_id, stage) WHERE status = 'open';
CREATE INDEX cases_officer ON cases (officer_id) WHERE status = 'open';
CREATE INDEX cases_team ON cases (team_id) WHERE status = 'open';
CREATE INDEX cases_unallocated ON cases (authority_id) WHERE status = 'open' AND officer_id IS NULL;
CREATE INDEX cases_child ON cases (child_id);

-- The event log. seq numbers a case's events 1, 2, 3... without gaps; (case_id, seq) being unique
-- is what makes a retried or concurrent command safe. Corrections are new events naming the one
-- they supersede; nothing is ever edited or deleted (enforced below and by grants in 0005).
CREATE TABLE case_events (
    id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    authority_id        bigint NOT NULL,
    case_id             bigint NOT NULL,
    seq                 integer NOT NULL CHECK (seq >= 1),
    type                text NOT NULL CHECK (type ~ '^[a-z0-9_-]{1,63}$'),
    actor_id            bigint REFERENCES users (id),
    actor_role          text NOT NULL CHECK (actor_role IN ('officer', 'manager', 'service_manager', 'dco',
                                                            'social_care', 'admin', 'system')),
    recorded_at         timestamptz NOT NULL DEFAULT now(),
    effective_on        date NOT NULL,
    payload             jsonb NOT NULL DEFAULT '{}'::jsonb CHECK (jsonb_typeof(payload) = 'object'),
    supersedes_seq      integer CHECK (supersedes_seq >= 1 AND supersedes_seq < seq),
    idempotency_key     text CHECK (length(idempotency_key) BETWEEN 1 AND 200),
    -- the workflow version the event was recorded under (changes only through a recorded event)
    workflow_sha256     text NOT NULL CHECK (workflow_sha256 ~ '^[0-9a-f]{64}$'),
    UNIQUE (case_id, seq),
    FOREIGN KEY (authority_id, case_id) REFERENCES cases (authority_id, id)
);
CREATE UNIQUE INDEX case_events_idempotency ON case_events (case_id, idempotency_key)
    WHERE idempotency_key IS NOT NULL;

CREATE FUNCTION ehc_refuse_event_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'case_events is append-only: % refused (correct a mistake with a new event)', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$;
CREATE TRIGGER case_events_append_only BEFORE UPDATE OR DELETE ON case_events
    FOR EACH ROW EXECUTE FUNCTION ehc_refuse_event_change();
CREATE TRIGGER case_events_no_truncate BEFORE TRUNCATE ON case_events
    FOR EACH STATEMENT EXECUTE FUNCTION ehc_refuse_event_change();

-- One row per statutory (or guidance, or local) date per clock. instance_key tells apart the
-- instances of a per-key clock (one advice deadline per adviser request); '' otherwise.
CREATE TABLE deadlines (
    id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    authority_id        bigint NOT NULL,
    case_id             bigint NOT NULL,
    deadline_key        text NOT NULL CHECK (deadline_key ~ '^[a-z0-9_-]{1,63}$'),
    instance_key        text NOT NULL DEFAULT '' CHECK (length(instance_key) <= 200),
    kind                text NOT NULL CHECK (kind IN ('statutory', 'guidance', 'local')),
    basis               text CHECK (length(basis) <= 300),
    direction           text NOT NULL DEFAULT 'latest' CHECK (direction IN ('latest', 'earliest')),
    origin_on           date NOT NULL,
    due_on              date NOT NULL,
    status              text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'met', 'met_late', 'cancelled')),
    settled_on          date,
    settled_by_seq      integer,
    exception_applies   boolean NOT NULL DEFAULT false,
    -- the next alert instant of this deadline (NULL when none is pending): the scheduler's index
    next_fire_at        timestamptz,
    set_by_seq          integer NOT NULL,
    updated_at          timestamptz NOT NULL DEFAULT now(),
    UNIQUE (case_id, deadline_key, instance_key),
    UNIQUE (authority_id, id),
    FOREIGN KEY (authority_id, case_id) REFERENCES cases (authority_id, id),
    CHECK ((status = 'open') = (settled_on IS NULL)),
    CHECK (kind = 'local' OR basis IS NOT NULL)
);
CREATE INDEX deadlines_next_fire ON deadlines (next_fire_at) WHERE next_fire_at IS NOT NULL;
CREATE INDEX deadlines_open_due ON deadlines (authority_id, due_on) WHERE status = 'open';
ALTER TABLE deadlines SET (autovacuum_vacuum_scale_factor = 0.01, autovacuum_analyze_scale_factor = 0.02);

-- Advice under SEND Regs 2014 reg 6(1)(a)-(h), one row per request to an adviser. The reg 8 clock
-- runs from the adviser's receipt of the request, so sent and received are kept apart.
CREATE TABLE advice_requests (
    id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    authority_id        bigint NOT NULL,
    case_id             bigint NOT NULL,
    request_key         text NOT NULL CHECK (request_key ~ '^[a-z0-9_-]{1,63}$'),
    adviser_type        text NOT NULL CHECK (adviser_type IN ('parent', 'educational', 'medical',
                            'educational_psychologist', 'social_care', 'other', 'preparation_for_adulthood',
                            'requested_by_family')),
    organisation_id     bigint REFERENCES organisations (id),
    assignee_id         bigint REFERENCES users (id),
    sent_on             date NOT NULL,
    received_by_adviser_on date,
    due_on              date,
    returned_on         date,
    outcome             text CHECK (outcome IN ('returned', 'nil_return', 'existing_advice_sufficient')),
    nil_reason          text CHECK (length(nil_reason) <= 500),
    forwarded_to_id     bigint REFERENCES organisations (id),
    summary             text CHECK (length(summary) <= 4000),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    UNIQUE (case_id, request_key),
    FOREIGN KEY (authority_id, case_id) REFERENCES cases (authority_id, id),
    CHECK (received_by_adviser_on IS NULL OR received_by_adviser_on >= sent_on),
    CHECK (returned_on IS NULL OR returned_on >= sent_on),
    CHECK ((outcome IS NULL) = (returned_on IS NULL)),
    CHECK (outcome IS DISTINCT FROM 'nil_return' OR nil_reason IS NOT NULL)
);
CREATE INDEX advice_requests_org_open ON advice_requests (organisation_id, due_on) WHERE returned_on IS NULL;

-- An exception the law allows on one clock (regs 5(4), 8(2), 10(4), 13(3)): the reason, the
-- period, the evidence and when the family was told. The statutory date never moves.
CREATE TABLE deadline_exceptions (
    id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    authority_id        bigint NOT NULL,
    case_id             bigint NOT NULL,
    deadline_id         bigint NOT NULL,
    reason              text NOT NULL CHECK (reason ~ '^[a-z0-9_-]{1,63}$'),
    basis               text NOT NULL CHECK (length(basis) BETWEEN 1 AND 300),
    from_on             date NOT NULL,
    to_on               date,
    evidence_note       text NOT NULL CHECK (length(evidence_note) BETWEEN 1 AND 4000),
    family_told_on      date,
    recorded_by_seq     integer NOT NULL,
    FOREIGN KEY (authority_id, case_id) REFERENCES cases (authority_id, id),
    FOREIGN KEY (authority_id, deadline_id) REFERENCES deadlines (authority_id, id),
    CHECK (to_on IS NULL OR to_on >= from_on)
);
CREATE INDEX deadline_exceptions_deadline ON deadline_exceptions (deadline_id);

-- SEN2 reporting codes a case carries (RequestOutcome, AssessmentOutcome, Week20, ...), set by
-- events; a later decision never overwrites an original outcome, it sets the mediation/tribunal
-- flags instead (the workflow decides which codes an event sets).
CREATE TABLE case_report_codes (
    authority_id        bigint NOT NULL,
    case_id             bigint NOT NULL,
    item                text NOT NULL CHECK (item ~ '^[A-Za-z0-9_]{1,40}$'),
    value               text NOT NULL CHECK (length(value) <= 40),
    set_on              date NOT NULL,
    set_by_seq          integer NOT NULL,
    PRIMARY KEY (case_id, item),
    FOREIGN KEY (authority_id, case_id) REFERENCES cases (authority_id, id)
);

-- Alerts: exactly one per (deadline, level), however often a crash and restart replay the firing.
CREATE TABLE alerts (
    id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    authority_id        bigint NOT NULL,
    case_id             bigint NOT NULL,
    deadline_id         bigint NOT NULL,
    level               text NOT NULL CHECK (level ~ '^(upcoming_[0-9]{1,2}|due|overdue|escalated)$'),
    fire_at             timestamptz NOT NULL,
    fired_at            timestamptz NOT NULL DEFAULT now(),
    caught_up           boolean NOT NULL DEFAULT false,
    exception_applies   boolean NOT NULL DEFAULT false,
    status              text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'acknowledged', 'resolved')),
    acknowledged_by     bigint REFERENCES users (id),
    acknowledged_at     timestamptz,
    resolved_at         timestamptz,
    resolution          text CHECK (resolution IN ('met', 'met_late', 'cancelled', 'superseded')),
    UNIQUE (deadline_id, level),
    FOREIGN KEY (authority_id, case_id) REFERENCES cases (authority_id, id),
    FOREIGN KEY (authority_id, deadline_id) REFERENCES deadlines (authority_id, id),
    CHECK ((status = 'resolved') = (resolved_at IS NOT NULL)),
    CHECK ((acknowledged_at IS NULL) = (acknowledged_by IS NULL))
);
CREATE INDEX alerts_open ON alerts (authority_id, status, fired_at) WHERE status <> 'resolved';
CREATE INDEX alerts_case ON alerts (case_id);

-- Notifications to deliver (SSE, webhook, email), written in the same transaction as what caused
-- them and delivered at least once under their idempotency key.
CREATE TABLE outbox (
    id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    authority_id        bigint NOT NULL REFERENCES local_authorities (id),
    channel             text NOT NULL CHECK (channel IN ('sse', 'webhook', 'email')),
    recipient_user_id   bigint REFERENCES users (id),
    recipient           text CHECK (length(recipient) <= 500),
    alert_id            bigint REFERENCES alerts (id),
    payload             jsonb NOT NULL CHECK (jsonb_typeof(payload) = 'object'),
    idempotency_key     text NOT NULL UNIQUE CHECK (length(idempotency_key) BETWEEN 1 AND 200),
    created_at          timestamptz NOT NULL DEFAULT now(),
    attempts            integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_attempt_at     timestamptz NOT NULL DEFAULT now(),
    delivered_at        timestamptz,
    dead_at             timestamptz,
    last_error          text CHECK (length(last_error) <= 1000)
);
CREATE INDEX outbox_pending ON outbox (next_attempt_at) WHERE delivered_at IS NULL AND dead_at IS NULL;
ALTER TABLE outbox SET (autovacuum_vacuum_scale_factor = 0.01, autovacuum_analyze_scale_factor = 0.02);

-- SEN2 modules 4a/4b: the plan and its placements.
CREATE TABLE plans (
    id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    authority_id        bigint NOT NULL,
    case_id             bigint NOT NULL UNIQUE,
    start_on            date NOT NULL,
    residential         boolean NOT NULL DEFAULT false,        -- PlanRes
    work_based          boolean NOT NULL DEFAULT false,        -- PlanWBP
    personal_budget     boolean NOT NULL DEFAULT false,        -- PB
    organised_arrangements boolean NOT NULL DEFAULT false,     -- OA
    direct_payments     boolean NOT NULL DEFAULT false,        -- DP
    cease_on            date,
    -- SEN2 CeaseReason: 1 max age, 2 needs met, 3 HE, 4 employment, 5 transferred LA,
    -- 6 no engagement, 7 left England, 8 deceased, 9 other
    cease_reason        smallint CHECK (cease_reason BETWEEN 1 AND 9),
    FOREIGN KEY (authority_id, case_id) REFERENCES cases (authority_id, id),
    CHECK ((cease_on IS NULL) = (cease_reason IS NULL)),
    CHECK (cease_on IS NULL OR cease_on >= start_on)
);

CREATE TABLE placements (
    id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    authority_id        bigint NOT NULL,
    case_id             bigint NOT NULL,
    rank                smallint NOT NULL DEFAULT 1 CHECK (rank >= 1),
    urn                 text CHECK (urn ~ '^[0-9]{6}$'),
    ukprn               text CHECK (ukprn ~ '^1[0-9]{7}$'),
    -- SEN2 SENsetting when there is no URN/UKPRN
    sen_setting         text CHECK (sen_setting IN ('OLA', 'OPA', 'EHE', 'EYP', 'OTH', 'NEET', 'NIEC', 'NIEO')),
    sen_unit            boolean NOT NULL DEFAULT false,
    resourced_provision boolean NOT NULL DEFAULT false,
    start_on            date NOT NULL,
    end_on              date,
    FOREIGN KEY (authority_id, case_id) REFERENCES cases (authority_id, id),
    CHECK (num_nonnulls(urn, ukprn, sen_setting) = 1),
    CHECK (end_on IS NULL OR end_on >= start_on)
);
CREATE INDEX placements_case ON placements (case_id);
