-- Delivery of alert notifications from the outbox (engine/outbox.c): where they go and the
-- functions the dispatcher calls.
--
-- Where: per authority webhook subscriptions (url, HMAC secret, active flag) and users' email
-- addresses. What: the scheduler writes one 'sse' row per alert and recipient (sql/0008); a trigger
-- fans each out, in the same transaction, into one 'webhook' row per alert and active subscription of
-- the authority (idempotency key alert:<id>:webhook:sub:<subscription id>) and one 'email' row for a
-- recipient who has an address (alert:<id>:email:user:<user id>). Webhook and email payloads are
-- completed with the case reference, the stage and the deadline's kind and basis: ids and codes only,
-- never the child's name, date of birth or address.
--
-- How: the dispatcher claims due rows in batches (FOR UPDATE SKIP LOCKED), counting the attempt and
-- leasing the row (next_attempt_at moves past the delivery's time limit) so a node that dies
-- mid-delivery never loses the row: when the lease lapses it is claimable again. It then settles each
-- row: delivered, retried later (backoff computed in C), dead-lettered, or released (the dispatcher
-- closed mid-delivery). The attempt count claimed is the fencing token: a settlement from a claim that
-- another node has since re-claimed changes nothing. Delivery timing is real time, the database's
-- clock_timestamp() (one clock for every node), not the simulated clock: it concerns networks, not
-- statutory dates.

ALTER TABLE users
    ADD COLUMN email text CHECK (email IS NULL OR (length(email) <= 254
                                                   AND email ~ '^[A-Za-z0-9.!#$%&''*+/=?^_`{|}~-]+@[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$'));

CREATE TABLE webhook_subscriptions (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    authority_id    bigint NOT NULL REFERENCES local_authorities (id),
    name            text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    url             text NOT NULL CHECK (url ~ '^https?://[^[:space:][:cntrl:]]+$' AND length(url) <= 2000),
    -- the key of the X-EHC-Signature HMAC; shown to the receiving system once, when created
    secret          text NOT NULL CHECK (length(secret) BETWEEN 16 AND 200),
    active          boolean NOT NULL DEFAULT true,
    created_by      bigint REFERENCES users (id),
    created_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (authority_id, id)
);
ALTER TABLE webhook_subscriptions ENABLE ROW LEVEL SECURITY;
ALTER TABLE webhook_subscriptions FORCE ROW LEVEL SECURITY;
CREATE POLICY webhook_subscriptions_by_authority ON webhook_subscriptions
    USING (authority_id = ANY (ehc_session_authorities()))
    WITH CHECK (authority_id = ANY (ehc_session_authorities()));

ALTER TABLE outbox
    ADD COLUMN webhook_subscription_id bigint,
    ADD FOREIGN KEY (authority_id, webhook_subscription_id) REFERENCES webhook_subscriptions (authority_id, id),
    ADD CHECK (channel <> 'webhook' OR alert_id IS NULL OR webhook_subscription_id IS NOT NULL);

-- What the dispatcher claims: SSE rows (read by the live stream) never enter this index.
CREATE INDEX outbox_dispatch_due ON outbox (next_attempt_at, id)
    WHERE delivered_at IS NULL AND dead_at IS NULL AND channel IN ('webhook', 'email');

-- Completes the payload of a webhook or email row of an alert (BEFORE INSERT): the case reference,
-- the stage, the authority's DfE code, the deadline's kind and basis. The per-recipient 'as' stays
-- only on email rows.
CREATE FUNCTION ehc__outbox_complete_payload() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    v jsonb;
BEGIN
    SELECT jsonb_build_object('case_reference', c.reference, 'stage', c.stage, 'authority_code', la.dfe_code,
                              'deadline_kind', d.kind, 'basis', d.basis)
    INTO v
    FROM alerts a
    JOIN cases c ON c.id = a.case_id
    JOIN deadlines d ON d.id = a.deadline_id
    JOIN local_authorities la ON la.id = a.authority_id
    WHERE a.id = NEW.alert_id;
    NEW.payload := NEW.payload || coalesce(v, '{}'::jsonb);
    IF NEW.channel = 'webhook' THEN
        NEW.payload := NEW.payload - 'as';
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER outbox_complete_payload BEFORE INSERT ON outbox
    FOR EACH ROW WHEN (NEW.channel IN ('webhook', 'email') AND NEW.alert_id IS NOT NULL)
    EXECUTE FUNCTION ehc__outbox_complete_payload();

-- Fans an alert's 'sse' row out into webhook and email rows (AFTER INSERT, same transaction as the
-- firing). Several recipients of one alert make one webhook row per subscription (ON CONFLICT).
CREATE FUNCTION ehc__outbox_fan_out() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO outbox (authority_id, channel, alert_id, webhook_subscription_id, payload, idempotency_key)
    SELECT NEW.authority_id, 'webhook', NEW.alert_id, s.id, NEW.payload,
           'alert:' || NEW.alert_id || ':webhook:sub:' || s.id
    FROM webhook_subscriptions s
    WHERE s.authority_id = NEW.authority_id AND s.active
    ORDER BY s.id
    ON CONFLICT (idempotency_key) DO NOTHING;

    INSERT INTO outbox (authority_id, channel, recipient_user_id, alert_id, payload, idempotency_key)
    SELECT NEW.authority_id, 'email', u.id, NEW.alert_id, NEW.payload,
           'alert:' || NEW.alert_id || ':email:user:' || u.id
    FROM users u
    WHERE u.id = NEW.recipient_user_id AND u.email IS NOT NULL AND u.disabled_at IS NULL
    ON CONFLICT (idempotency_key) DO NOTHING;
    RETURN NULL;
END
$$;
CREATE TRIGGER outbox_fan_out AFTER INSERT ON outbox
    FOR EACH ROW WHEN (NEW.channel = 'sse' AND NEW.alert_id IS NOT NULL)
    EXECUTE FUNCTION ehc__outbox_fan_out();

-- Claims up to p_limit due rows of the given channels, oldest due first: counts the attempt and
-- leases the row for p_lease_ms. Returns what sending needs: the subscription's url and secret for a
-- webhook (NULL when it was deactivated or removed), the recipient's address for an email (NULL when
-- it has none now, or is disabled).
CREATE FUNCTION ehc_outbox_claim(p_channels text[], p_limit integer, p_lease_ms integer)
RETURNS TABLE (id bigint, channel text, idempotency_key text, attempts integer, payload text, url text,
               secret text, email text)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
BEGIN
    PERFORM ehc__bind_all_authorities();
    RETURN QUERY
    WITH due AS (
        SELECT o.id FROM outbox o
        WHERE o.delivered_at IS NULL AND o.dead_at IS NULL AND o.channel IN ('webhook', 'email')
          AND o.channel = ANY (p_channels) AND o.next_attempt_at <= clock_timestamp()
        ORDER BY o.next_attempt_at, o.id
        LIMIT p_limit
        FOR UPDATE SKIP LOCKED
    ), claimed AS (
        UPDATE outbox o
        SET attempts = o.attempts + 1,
            next_attempt_at = clock_timestamp() + p_lease_ms * interval '1 millisecond'
        FROM due
        WHERE o.id = due.id
        RETURNING o.id, o.channel, o.idempotency_key, o.attempts, o.payload, o.webhook_subscription_id,
                  o.recipient_user_id
    )
    SELECT c.id, c.channel, c.idempotency_key, c.attempts, c.payload::text, s.url, s.secret, u.email
    FROM claimed c
    LEFT JOIN webhook_subscriptions s ON s.id = c.webhook_subscription_id AND s.active
    LEFT JOIN users u ON u.id = c.recipient_user_id AND u.disabled_at IS NULL
    ORDER BY c.id;
END
$$;

-- Settles one claimed row. p_outcome: 'delivered'; 'retry' (due again in p_retry_after_ms);
-- 'dead'; 'release' (the attempt never completed: it is not counted and the row is due now).
-- Returns the outcome applied, or 'stale' when the row was settled or re-claimed meanwhile
-- (a delivery is recorded even then: it did arrive).
CREATE FUNCTION ehc_outbox_settle(p_id bigint, p_attempts integer, p_outcome text, p_retry_after_ms integer,
                                  p_error text)
RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    v_error text := left(p_error, 1000);
BEGIN
    PERFORM ehc__bind_all_authorities();
    IF p_outcome = 'delivered' THEN
        UPDATE outbox SET delivered_at = clock_timestamp(), last_error = NULL
        WHERE id = p_id AND delivered_at IS NULL AND dead_at IS NULL;
    ELSIF p_outcome = 'retry' THEN
        UPDATE outbox
        SET next_attempt_at = clock_timestamp() + greatest(p_retry_after_ms, 0) * interval '1 millisecond',
            last_error = v_error
        WHERE id = p_id AND attempts = p_attempts AND delivered_at IS NULL AND dead_at IS NULL;
    ELSIF p_outcome = 'dead' THEN
        UPDATE outbox SET dead_at = clock_timestamp(), last_error = v_error
        WHERE id = p_id AND attempts = p_attempts AND delivered_at IS NULL AND dead_at IS NULL;
    ELSIF p_outcome = 'release' THEN
        UPDATE outbox SET attempts = attempts - 1, next_attempt_at = clock_timestamp()
        WHERE id = p_id AND attempts = p_attempts AND attempts > 0 AND delivered_at IS NULL AND dead_at IS NULL;
    ELSE
        RAISE EXCEPTION 'unknown outbox outcome %', p_outcome USING ERRCODE = 'invalid_parameter_value';
    END IF;
    RETURN CASE WHEN FOUND THEN p_outcome ELSE 'stale' END;
END
$$;

-- For administrators: what could not be delivered, and why (the view runs with the reader's rights,
-- so row-level security shows each authority its own).
CREATE VIEW outbox_dead_letters WITH (security_invoker = true) AS
SELECT o.id, o.authority_id, o.channel, o.idempotency_key, o.alert_id, o.recipient_user_id,
       o.webhook_subscription_id, o.payload ->> 'case_reference' AS case_reference, o.attempts, o.created_at,
       o.dead_at, o.last_error
FROM outbox o
WHERE o.dead_at IS NOT NULL;

-- For administrators: puts a dead letter back in the queue (after the receiver was fixed).
CREATE FUNCTION ehc_outbox_requeue(p_authority_ids text, p_id bigint) RETURNS boolean
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM set_config('ehc.authority_ids', p_authority_ids, true);
    UPDATE outbox SET dead_at = NULL, attempts = 0, next_attempt_at = clock_timestamp()
    WHERE id = p_id AND dead_at IS NOT NULL;
    RETURN FOUND;
END
$$;

GRANT SELECT, INSERT, UPDATE ON webhook_subscriptions TO ehc_app;
GRANT SELECT ON outbox_dead_letters TO ehc_app;
GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO ehc_app;
GRANT EXECUTE ON FUNCTION ehc_outbox_claim(text[], integer, integer),
    ehc_outbox_settle(bigint, integer, text, integer, text), ehc_outbox_requeue(text, bigint) TO ehc_app;
