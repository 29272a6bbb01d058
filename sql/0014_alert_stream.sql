-- The live alert stream (GET /api/v1/alerts/stream) reads the outbox rows of channel 'sse': each is
-- one alert for one recipient, written in the transaction that fired the alert, so the stream
-- can resume from any row id (Last-Event-ID) and never misses one.

-- Rows after p_after_id, for one user (p_user_id) or for everyone (NULL), in id order.
CREATE FUNCTION ehc_sse_rows(p_after_id bigint, p_user_id bigint, p_limit integer)
RETURNS TABLE (id bigint, user_id bigint, payload jsonb)
LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
BEGIN
    -- the stream serves every authority's users; each row is addressed to one user already
    PERFORM ehc__bind_all_authorities();
    RETURN QUERY
    SELECT o.id, o.recipient_user_id, o.payload FROM outbox o
    WHERE o.channel = 'sse' AND o.id > p_after_id AND o.recipient_user_id IS NOT NULL
      AND (p_user_id IS NULL OR o.recipient_user_id = p_user_id)
    ORDER BY o.id
    LIMIT p_limit;
END
$$;

-- The newest row id, where a stream without Last-Event-ID starts.
CREATE FUNCTION ehc_sse_head() RETURNS bigint
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM ehc__bind_all_authorities();
    RETURN coalesce((SELECT max(o.id) FROM outbox o WHERE o.channel = 'sse'), 0);
END
$$;

CREATE INDEX outbox_sse_user ON outbox (recipient_user_id, id) WHERE channel = 'sse';
GRANT EXECUTE ON FUNCTION ehc_sse_rows(bigint, bigint, integer), ehc_sse_head() TO ehc_app;
