-- The deadline scheduler (engine/scheduler.c) and the simulated clock (engine/simclock.c).
--
-- Each open deadline carries its alert schedule, computed in C from the workflow and the calendars
-- (engine/alerts.c: the dates come only from the C date and calendar code), and next_fire_at, the
-- first instant of it that has not fired. planned_due_on is the due date the schedule was computed
-- for: a deadline is "unplanned" (new, or its due date moved) while it differs from due_on, and the
-- scheduler plans it and never fires a stale schedule.
--
-- Firing claims due rows with FOR UPDATE SKIP LOCKED and, in the same transaction, inserts the alert
-- under its unique key (deadline_id, level), one outbox row per channel and recipient under the
-- idempotency key alert:<id>:<channel>:user:<user id>, and moves next_fire_at on. A crash at any
-- instant either commits all of that or none, and a replay finds the level already there: every
-- alert exists exactly once. "Now" is always a parameter (the daemon's injected clock), never now().
--
-- The scheduler serves every authority, so each function binds the transaction to all of them
-- first (row-level security stays on: the functions run as the calling role, ehc_app).

ALTER TABLE deadlines
    ADD COLUMN alert_schedule jsonb CHECK (alert_schedule IS NULL OR jsonb_typeof(alert_schedule) = 'array'),
    ADD COLUMN planned_due_on date;
CREATE INDEX deadlines_unplanned ON deadlines (id) WHERE status = 'open' AND planned_due_on IS DISTINCT FROM due_on;

CREATE FUNCTION ehc__bind_all_authorities() RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM set_config('ehc.authority_ids',
                       coalesce((SELECT string_agg(a.id::text, ',') FROM local_authorities a), ''), true);
END
$$;

CREATE FUNCTION ehc__us_to_ts(p_us bigint) RETURNS timestamptz
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT 'epoch'::timestamptz + p_us * interval '1 microsecond'
$$;

CREATE FUNCTION ehc__ts_to_us(p_at timestamptz) RETURNS bigint
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT (extract(epoch FROM p_at) * 1000000)::bigint
$$;

-- Start-up: every pending fire instant, a page at a time in id order.
CREATE FUNCTION ehc_scheduler_pending(p_after_id bigint, p_limit integer)
RETURNS TABLE (id bigint, fire_us bigint)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
BEGIN
    PERFORM ehc__bind_all_authorities();
    RETURN QUERY
    SELECT d.id, ehc__ts_to_us(d.next_fire_at)
    FROM deadlines d
    WHERE d.next_fire_at IS NOT NULL AND d.id > p_after_id
    ORDER BY d.id
    LIMIT p_limit;
END
$$;

-- Open deadlines whose schedule is missing or stale, with what C needs to plan them; p_case_id
-- narrows it to one case (the store's hook), else a page in id order.
CREATE FUNCTION ehc_scheduler_unplanned(p_after_id bigint, p_limit integer, p_case_id bigint)
RETURNS TABLE (id bigint, workflow_sha256 text, deadline_key text, instance_key text, origin_on date,
               due_on date)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
BEGIN
    PERFORM ehc__bind_all_authorities();
    RETURN QUERY
    SELECT d.id, c.workflow_sha256, d.deadline_key, d.instance_key, d.origin_on, d.due_on
    FROM deadlines d JOIN cases c ON c.id = d.case_id
    WHERE d.status = 'open' AND d.planned_due_on IS DISTINCT FROM d.due_on AND d.id > p_after_id
      AND (p_case_id IS NULL OR d.case_id = p_case_id)
    ORDER BY d.id
    LIMIT p_limit;
END
$$;

-- Every deadline of one case with its pending instant (NULL: none), for the store's hook.
CREATE FUNCTION ehc_scheduler_case(p_case_id bigint)
RETURNS TABLE (id bigint, fire_us bigint)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
BEGIN
    PERFORM ehc__bind_all_authorities();
    RETURN QUERY
    SELECT d.id, ehc__ts_to_us(d.next_fire_at) FROM deadlines d WHERE d.case_id = p_case_id ORDER BY d.id;
END
$$;

-- Writes schedules computed in C: [{"id": 1, "due_on": "2026-02-16", "schedule": [...]}]. A row
-- that was settled or moved meanwhile (status or due_on differ) is left alone. next_fire_at becomes
-- the first instant whose level has not fired (a past one fires at once, as a catch-up).
CREATE FUNCTION ehc_scheduler_plan(p_plans jsonb)
RETURNS TABLE (id bigint, fire_us bigint)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
BEGIN
    PERFORM ehc__bind_all_authorities();
    RETURN QUERY
    UPDATE deadlines d
    SET alert_schedule = x.schedule, planned_due_on = x.due_on,
        next_fire_at = (SELECT ehc__us_to_ts(min((e ->> 'at_us')::bigint))
                        FROM jsonb_array_elements(x.schedule) AS e
                        WHERE NOT EXISTS (SELECT 1 FROM alerts a WHERE a.deadline_id = d.id AND a.level = e ->> 'level'))
    FROM jsonb_to_recordset(p_plans) AS x (id bigint, due_on date, schedule jsonb)
    WHERE d.id = x.id AND d.status = 'open' AND d.due_on = x.due_on
    RETURNING d.id, ehc__ts_to_us(d.next_fire_at);
END
$$;

-- Fires what is due at p_now_us: claims up to p_limit due rows (earliest first) and for each raises
-- the highest level due above the highest already fired (catch-up skips the lower ones for good),
-- with its outbox rows, and moves next_fire_at to the next level after now. caught_up marks an alert
-- that stands for skipped levels or whose instant came before the scheduler started (p_started_us).
-- Outcomes: 'fired'; 'nothing' (no level left to raise); 'replan' (the schedule is stale: dropped
-- until the scheduler plans it again); 'current' for each of p_ids not claimed here (locked by
-- another transaction, or beyond the limit), with the committed next instant.
CREATE FUNCTION ehc_scheduler_fire(p_now_us bigint, p_started_us bigint, p_limit integer, p_channels text[],
                                   p_ids bigint[])
RETURNS TABLE (deadline_id bigint, next_us bigint, level text, alert_id bigint, fire_us bigint, outcome text)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    v_now timestamptz := ehc__us_to_ts(p_now_us);
    r record;
    v_fired_ord bigint;
    v_best jsonb;
    v_best_ord bigint;
    v_due_count bigint;
    v_alert bigint;
    v_next bigint;
    v_caught_up boolean;
    v_claimed bigint[] := '{}';
BEGIN
    PERFORM ehc__bind_all_authorities();
    FOR r IN
        SELECT d.id, d.authority_id, d.case_id, d.deadline_key, d.instance_key, d.due_on, d.alert_schedule,
               d.exception_applies, d.planned_due_on, c.officer_id, c.team_id
        FROM deadlines d JOIN cases c ON c.id = d.case_id
        WHERE d.next_fire_at <= v_now AND d.status = 'open'
        ORDER BY d.next_fire_at, d.id
        LIMIT p_limit
        FOR UPDATE OF d SKIP LOCKED
    LOOP
        v_claimed := v_claimed || r.id;
        IF r.alert_schedule IS NULL OR r.planned_due_on IS DISTINCT FROM r.due_on THEN
            UPDATE deadlines SET next_fire_at = NULL WHERE deadlines.id = r.id;
            deadline_id := r.id; next_us := NULL; level := NULL; alert_id := NULL; fire_us := NULL;
            outcome := 'replan';
            RETURN NEXT;
            CONTINUE;
        END IF;

        SELECT coalesce(max(s.ord), 0) INTO v_fired_ord
        FROM jsonb_array_elements(r.alert_schedule) WITH ORDINALITY AS s (e, ord)
        WHERE EXISTS (SELECT 1 FROM alerts a WHERE a.deadline_id = r.id AND a.level = s.e ->> 'level');

        v_best := NULL;
        SELECT s.e, s.ord, count(*) OVER () INTO v_best, v_best_ord, v_due_count
        FROM jsonb_array_elements(r.alert_schedule) WITH ORDINALITY AS s (e, ord)
        WHERE s.ord > v_fired_ord AND (s.e ->> 'at_us')::bigint <= p_now_us
        ORDER BY s.ord DESC
        LIMIT 1;

        v_alert := NULL;
        IF v_best IS NOT NULL THEN
            v_caught_up := v_due_count > 1 OR (v_best ->> 'at_us')::bigint < p_started_us;
            INSERT INTO alerts (authority_id, case_id, deadline_id, level, fire_at, fired_at, caught_up,
                                exception_applies)
            VALUES (r.authority_id, r.case_id, r.id, v_best ->> 'level', ehc__us_to_ts((v_best ->> 'at_us')::bigint),
                    v_now, v_caught_up, r.exception_applies)
            ON CONFLICT ON CONSTRAINT alerts_deadline_id_level_key DO NOTHING
            RETURNING id INTO v_alert;
            IF v_alert IS NOT NULL THEN
                INSERT INTO outbox (authority_id, channel, recipient_user_id, alert_id, payload, idempotency_key)
                SELECT r.authority_id, ch, u.user_id, v_alert,
                       jsonb_build_object('type', 'alert', 'alert_id', v_alert, 'case_id', r.case_id,
                                          'deadline_id', r.id, 'deadline_key', r.deadline_key,
                                          'instance_key', r.instance_key, 'level', v_best ->> 'level',
                                          'due_on', r.due_on, 'fire_at', ehc__us_to_ts((v_best ->> 'at_us')::bigint),
                                          'caught_up', v_caught_up, 'exception_applies', r.exception_applies,
                                          'as', u.as_role),
                       'alert:' || v_alert || ':' || ch || ':user:' || u.user_id
                FROM unnest(p_channels) AS ch,
                     (SELECT DISTINCT ON (x.user_id) x.user_id, x.as_role
                      FROM (
                          -- the case officer; an unallocated case's alerts go to its team's managers
                          SELECT r.officer_id AS user_id, 'officer' AS as_role, 1 AS rank
                          WHERE r.officer_id IS NOT NULL AND (v_best -> 'to') ? 'officer'
                          UNION ALL
                          SELECT g.user_id, 'manager', 2 FROM role_grants g
                          WHERE g.role = 'manager' AND g.authority_id = r.authority_id AND g.team_id = r.team_id
                            AND g.revoked_at IS NULL
                            AND ((v_best -> 'to') ? 'manager'
                                 OR (r.officer_id IS NULL AND (v_best -> 'to') ? 'officer'))
                          UNION ALL
                          SELECT g.user_id, 'service_manager', 3 FROM role_grants g
                          WHERE g.role = 'service_manager' AND g.authority_id = r.authority_id
                            AND g.revoked_at IS NULL AND (v_best -> 'to') ? 'service_manager'
                      ) AS x
                      ORDER BY x.user_id, x.rank) AS u
                ON CONFLICT (idempotency_key) DO NOTHING;
            END IF;
        END IF;

        -- the next level after now; levels skipped by a catch-up never fire
        SELECT min((s.e ->> 'at_us')::bigint) INTO v_next
        FROM jsonb_array_elements(r.alert_schedule) WITH ORDINALITY AS s (e, ord)
        WHERE s.ord > greatest(v_fired_ord, coalesce(v_best_ord, 0)) AND (s.e ->> 'at_us')::bigint > p_now_us;
        UPDATE deadlines SET next_fire_at = ehc__us_to_ts(v_next) WHERE deadlines.id = r.id;

        deadline_id := r.id;
        next_us := v_next;
        level := v_best ->> 'level';
        alert_id := v_alert;
        fire_us := (v_best ->> 'at_us')::bigint;
        outcome := CASE WHEN v_alert IS NOT NULL THEN 'fired' ELSE 'nothing' END;
        RETURN NEXT;
    END LOOP;

    RETURN QUERY
    SELECT d.id, ehc__ts_to_us(d.next_fire_at), NULL::text, NULL::bigint, NULL::bigint, 'current'::text
    FROM deadlines d
    WHERE d.id = ANY (p_ids) AND NOT (d.id = ANY (v_claimed));
END
$$;

-- The simulated clock of `ehcd serve --sim-clock`: one row, never moved backwards, kept across
-- restarts. Not case data, so not bound to an authority.
CREATE TABLE sim_clock (
    singleton   boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    now_us      bigint NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now()
);

-- The stored instant; the first call stores p_initial_us.
CREATE FUNCTION ehc_sim_clock_load(p_initial_us bigint) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    v bigint;
BEGIN
    INSERT INTO sim_clock (now_us) VALUES (p_initial_us) ON CONFLICT (singleton) DO NOTHING;
    SELECT s.now_us INTO v FROM sim_clock s;
    RETURN v;
END
$$;

-- Moves the clock to p_now_us; refused (moved = false, now_us the stored instant) when that is
-- earlier than the stored instant. Setting the same instant again succeeds and changes nothing.
CREATE FUNCTION ehc_sim_clock_set(p_now_us bigint) RETURNS TABLE (now_us bigint, moved boolean)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
BEGIN
    INSERT INTO sim_clock AS s (now_us) VALUES (p_now_us)
    ON CONFLICT (singleton) DO UPDATE SET now_us = excluded.now_us, updated_at = now()
        WHERE s.now_us <= excluded.now_us;
    IF FOUND THEN
        RETURN QUERY SELECT p_now_us, true;
    ELSE
        RETURN QUERY SELECT s.now_us, false FROM sim_clock s;
    END IF;
END
$$;

GRANT SELECT, INSERT, UPDATE ON sim_clock TO ehc_app;
GRANT EXECUTE ON FUNCTION ehc_scheduler_pending(bigint, integer), ehc_scheduler_unplanned(bigint, integer, bigint),
    ehc_scheduler_case(bigint), ehc_scheduler_plan(jsonb),
    ehc_scheduler_fire(bigint, bigint, integer, text[], bigint[]), ehc_sim_clock_load(bigint),
    ehc_sim_clock_set(bigint) TO ehc_app;
