-- Set-based firing (issue #12). ehc_scheduler_fire (sql/0008) claimed its batch and then, row by row
-- in PL/pgSQL, inserted each alert, its outbox rows and moved the deadline on; every 'sse' outbox row
-- then ran two per-row PL/pgSQL triggers (sql/0012). That cost over a millisecond of PostgreSQL CPU
-- per alert. The same work is now a handful of statements per batch:
--
--   1. claim: up to p_limit due rows, earliest first, FOR UPDATE SKIP LOCKED (as before);
--   2. one statement, run after the claim so it reads every claimed row and its alerts as committed
--      now (the rows are ours until commit): per deadline the highest level fired, the highest level
--      due above it (catch-up), the next instant; one INSERT of all alerts (ON CONFLICT DO NOTHING on
--      (deadline_id, level), so a replay raises nothing twice), one INSERT of all their outbox rows,
--      one UPDATE of all next_fire_at;
--   3. the 'current' rows of p_ids not claimed (as before).
--
-- Same signature, same rows, same outcomes ('fired', 'nothing', 'replan', 'current'), same keys.
--
-- The fan-out of 'sse' rows into webhook and email rows becomes one statement-level trigger over the
-- transition table of inserted rows, completing the payloads (case reference, stage, authority code,
-- deadline kind and basis; no 'as' on webhook rows) in the same INSERT. Row order is kept: per 'sse'
-- row, in id order, its alert's webhook rows (for the alert's first 'sse' row) and then its email row.
-- The per-row completion trigger stays for webhook or email rows of an alert inserted some other way,
-- and now skips a row whose payload is already complete.

-- The claim reads the due rows in the order it takes them: (next_fire_at, id), so that it stops
-- after p_limit rows instead of sorting every due row.
DROP INDEX deadlines_next_fire;
CREATE INDEX deadlines_next_fire ON deadlines (next_fire_at, id) WHERE next_fire_at IS NOT NULL;

CREATE OR REPLACE FUNCTION ehc_scheduler_fire(p_now_us bigint, p_started_us bigint, p_limit integer,
                                              p_channels text[], p_ids bigint[])
RETURNS TABLE (deadline_id bigint, next_us bigint, level text, alert_id bigint, fire_us bigint, outcome text)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    v_now timestamptz := ehc__us_to_ts(p_now_us);
    v_claimed bigint[];
    v_sort text;
BEGIN
    PERFORM ehc__bind_all_authorities();

    -- The claim walks deadlines_next_fire in order and stops after p_limit rows. Without statistics
    -- (a table just filled) the planner takes the row-level security filter on authority_id for a
    -- selective one and sorts every due row instead; no sort for this one statement.
    v_sort := current_setting('enable_sort');
    PERFORM set_config('enable_sort', 'off', true);
    SELECT coalesce(array_agg(q.id ORDER BY q.next_fire_at, q.id), '{}') INTO v_claimed
    FROM (SELECT d.id, d.next_fire_at
          FROM deadlines d
          WHERE d.next_fire_at <= v_now AND d.status = 'open'
          ORDER BY d.next_fire_at, d.id
          LIMIT p_limit
          FOR UPDATE SKIP LOCKED) AS q;
    PERFORM set_config('enable_sort', v_sort, true);

    RETURN QUERY
    WITH cl AS MATERIALIZED (
        -- one primary-key lookup per claimed row, whatever the planner's statistics say (OFFSET 0
        -- keeps the subquery apart: a fresh table's estimates made a join of every deadline)
        SELECT k.n, x.*
        FROM unnest(v_claimed) WITH ORDINALITY AS k (id, n)
        CROSS JOIN LATERAL (
            SELECT d.id AS d_id, d.authority_id, d.case_id, d.deadline_key, d.instance_key, d.due_on,
                   d.alert_schedule AS sched, d.exception_applies, c.officer_id, c.team_id,
                   (d.alert_schedule IS NULL OR d.planned_due_on IS DISTINCT FROM d.due_on) AS stale
            FROM deadlines d JOIN cases c ON c.id = d.case_id
            WHERE d.id = k.id
            OFFSET 0) AS x
    ), done AS MATERIALIZED (
        -- the highest level of the schedule already fired (0: none)
        SELECT cl.*,
               (SELECT coalesce(max(s.ord), 0)
                FROM jsonb_array_elements(cl.sched) WITH ORDINALITY AS s (e, ord)
                WHERE EXISTS (SELECT 1 FROM alerts a WHERE a.deadline_id = cl.d_id AND a.level = s.e ->> 'level'))
                   AS fired_ord
        FROM cl
        WHERE NOT cl.stale
    ), plan AS MATERIALIZED (
        -- the highest level due above it, how many were due, and the next instant after now above both
        -- (levels skipped by a catch-up never fire)
        SELECT f.*, b.e AS best, b.ord AS best_ord, (b.e ->> 'at_us')::bigint AS best_us,
               b.e ->> 'level' AS best_level, b.due_count > 1 OR (b.e ->> 'at_us')::bigint < p_started_us AS caught,
               (SELECT min((s.e ->> 'at_us')::bigint)
                FROM jsonb_array_elements(f.sched) WITH ORDINALITY AS s (e, ord)
                WHERE s.ord > greatest(f.fired_ord, coalesce(b.ord, 0)) AND (s.e ->> 'at_us')::bigint > p_now_us)
                   AS next_at_us
        FROM done f
        LEFT JOIN LATERAL (
            SELECT s.e, s.ord, count(*) OVER () AS due_count
            FROM jsonb_array_elements(f.sched) WITH ORDINALITY AS s (e, ord)
            WHERE s.ord > f.fired_ord AND (s.e ->> 'at_us')::bigint <= p_now_us
            ORDER BY s.ord DESC
            LIMIT 1) AS b ON true
    ), new_alerts AS (
        INSERT INTO alerts AS a (authority_id, case_id, deadline_id, level, fire_at, fired_at, caught_up,
                                 exception_applies)
        SELECT p.authority_id, p.case_id, p.d_id, p.best_level, ehc__us_to_ts(p.best_us), v_now, p.caught,
               p.exception_applies
        FROM plan p
        WHERE p.best IS NOT NULL
        ORDER BY p.n
        ON CONFLICT ON CONSTRAINT alerts_deadline_id_level_key DO NOTHING
        RETURNING a.id AS a_id, a.deadline_id AS a_deadline_id
    ), new_outbox AS (
        INSERT INTO outbox (authority_id, channel, recipient_user_id, alert_id, payload, idempotency_key)
        SELECT p.authority_id, ch.ch, u.user_id, na.a_id,
               jsonb_build_object('type', 'alert', 'alert_id', na.a_id, 'case_id', p.case_id,
                                  'deadline_id', p.d_id, 'deadline_key', p.deadline_key,
                                  'instance_key', p.instance_key, 'level', p.best_level,
                                  'due_on', p.due_on, 'fire_at', ehc__us_to_ts(p.best_us),
                                  'caught_up', p.caught, 'exception_applies', p.exception_applies,
                                  'as', u.as_role),
               'alert:' || na.a_id || ':' || ch.ch || ':user:' || u.user_id
        FROM new_alerts na
        JOIN plan p ON p.d_id = na.a_deadline_id
        CROSS JOIN unnest(p_channels) WITH ORDINALITY AS ch (ch, k)
        CROSS JOIN LATERAL (
            SELECT DISTINCT ON (x.user_id) x.user_id, x.as_role
            FROM (
                -- the case officer; an unallocated case's alerts go to its team's managers
                SELECT p.officer_id AS user_id, 'officer' AS as_role, 1 AS rank
                WHERE p.officer_id IS NOT NULL AND (p.best -> 'to') ? 'officer'
                UNION ALL
                SELECT g.user_id, 'manager', 2 FROM role_grants g
                WHERE g.role = 'manager' AND g.authority_id = p.authority_id AND g.team_id = p.team_id
                  AND g.revoked_at IS NULL
                  AND ((p.best -> 'to') ? 'manager' OR (p.officer_id IS NULL AND (p.best -> 'to') ? 'officer'))
                UNION ALL
                SELECT g.user_id, 'service_manager', 3 FROM role_grants g
                WHERE g.role = 'service_manager' AND g.authority_id = p.authority_id
                  AND g.revoked_at IS NULL AND (p.best -> 'to') ? 'service_manager'
            ) AS x
            ORDER BY x.user_id, x.rank) AS u
        ORDER BY p.n, ch.k, u.user_id
        ON CONFLICT (idempotency_key) DO NOTHING
    ), moved AS (
        UPDATE deadlines d
        SET next_fire_at = CASE WHEN cl.stale THEN NULL ELSE ehc__us_to_ts(p.next_at_us) END
        FROM cl LEFT JOIN plan p ON p.d_id = cl.d_id
        WHERE d.id = cl.d_id
    )
    SELECT cl.d_id, p.next_at_us, p.best_level, na.a_id, p.best_us,
           CASE WHEN cl.stale THEN 'replan' WHEN na.a_id IS NOT NULL THEN 'fired' ELSE 'nothing' END
    FROM cl
    LEFT JOIN plan p ON p.d_id = cl.d_id
    LEFT JOIN new_alerts na ON na.a_deadline_id = cl.d_id
    ORDER BY cl.n;

    RETURN QUERY
    SELECT d.id, ehc__ts_to_us(d.next_fire_at), NULL::text, NULL::bigint, NULL::bigint, 'current'::text
    FROM deadlines d
    WHERE d.id = ANY (p_ids) AND NOT (d.id = ANY (v_claimed));
END
$$;

-- The fan-out of every 'sse' row of an alert inserted by one statement, in one INSERT.
CREATE FUNCTION ehc__outbox_fan_out_rows() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    -- its own INSERT fires this trigger again, with no 'sse' row: stop there
    IF NOT EXISTS (SELECT 1 FROM new_rows n WHERE n.channel = 'sse' AND n.alert_id IS NOT NULL) THEN
        RETURN NULL;
    END IF;
    INSERT INTO outbox (authority_id, channel, recipient_user_id, alert_id, webhook_subscription_id, payload,
                        idempotency_key)
    WITH sse AS MATERIALIZED (
        SELECT n.id, n.authority_id, n.recipient_user_id, n.alert_id, n.payload
        FROM new_rows n
        WHERE n.channel = 'sse' AND n.alert_id IS NOT NULL
    ), completion AS MATERIALIZED (
        SELECT a.id AS alert_id,
               jsonb_build_object('case_reference', c.reference, 'stage', c.stage, 'authority_code', la.dfe_code,
                                  'deadline_kind', d.kind, 'basis', d.basis) AS extra
        FROM alerts a
        JOIN cases c ON c.id = a.case_id
        JOIN deadlines d ON d.id = a.deadline_id
        JOIN local_authorities la ON la.id = a.authority_id
        WHERE a.id IN (SELECT sse.alert_id FROM sse)
    ), fan AS (
        -- one webhook row per alert and active subscription of its authority, from its first 'sse' row
        SELECT f.id AS src, 1 AS kind, s.id AS sub_id, f.authority_id, 'webhook' AS channel,
               NULL::bigint AS recipient_user_id, f.alert_id,
               (f.payload || coalesce(cp.extra, '{}'::jsonb)) - 'as' AS payload,
               'alert:' || f.alert_id || ':webhook:sub:' || s.id AS idempotency_key
        FROM (SELECT DISTINCT ON (sse.alert_id) sse.* FROM sse ORDER BY sse.alert_id, sse.id) AS f
        JOIN webhook_subscriptions s ON s.authority_id = f.authority_id AND s.active
        LEFT JOIN completion cp ON cp.alert_id = f.alert_id
        UNION ALL
        -- one email row per recipient who has an address and is not disabled
        SELECT e.id, 2, NULL, e.authority_id, 'email', u.id, e.alert_id,
               e.payload || coalesce(cp.extra, '{}'::jsonb),
               'alert:' || e.alert_id || ':email:user:' || u.id
        FROM sse e
        JOIN users u ON u.id = e.recipient_user_id AND u.email IS NOT NULL AND u.disabled_at IS NULL
        LEFT JOIN completion cp ON cp.alert_id = e.alert_id
    )
    SELECT r.authority_id, r.channel, r.recipient_user_id, r.alert_id, r.sub_id, r.payload, r.idempotency_key
    FROM fan r
    ORDER BY r.src, r.kind, r.sub_id
    ON CONFLICT (idempotency_key) DO NOTHING;
    RETURN NULL;
END
$$;

DROP TRIGGER outbox_fan_out ON outbox;
CREATE TRIGGER outbox_fan_out AFTER INSERT ON outbox
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION ehc__outbox_fan_out_rows();
DROP FUNCTION ehc__outbox_fan_out();

-- Completion of a webhook or email row of an alert inserted other than by the fan-out above.
DROP TRIGGER outbox_complete_payload ON outbox;
CREATE TRIGGER outbox_complete_payload BEFORE INSERT ON outbox
    FOR EACH ROW WHEN (NEW.channel IN ('webhook', 'email') AND NEW.alert_id IS NOT NULL
                       AND NOT (NEW.payload ?& ARRAY['case_reference', 'stage', 'authority_code', 'deadline_kind', 'basis']
                                AND NOT (NEW.channel = 'webhook' AND NEW.payload ? 'as')))
    EXECUTE FUNCTION ehc__outbox_complete_payload();
