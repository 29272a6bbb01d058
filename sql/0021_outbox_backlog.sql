-- The outbox's backlog for /metrics: notifications waiting per channel, and the age of the oldest,
-- across every authority (counts only, no personal data).
CREATE FUNCTION ehc_outbox_backlog()
RETURNS TABLE (channel text, waiting bigint, oldest_seconds double precision)
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM ehc__bind_all_authorities();
    RETURN QUERY
        SELECT c.channel, count(o.id), coalesce(extract(epoch FROM now() - min(o.created_at))::double precision, 0)
        FROM (VALUES ('sse'), ('webhook'), ('email')) AS c (channel)
        LEFT JOIN outbox o ON o.channel = c.channel AND o.delivered_at IS NULL AND o.dead_at IS NULL
        GROUP BY c.channel ORDER BY c.channel;
END
$$;
GRANT EXECUTE ON FUNCTION ehc_outbox_backlog() TO ehc_app;
