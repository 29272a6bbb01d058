-- Letters (issue #10): each statutory notice made for a case, kept as the PDF that was generated,
-- with its SHA-256, the notice and the template version (SHA-256 of the template files) it was filled
-- from, who made it and when. Sending is not stored here: it is an event on the case (letter_sent,
-- or the workflow's draft_served for a draft plan's covering letter) naming the letter, so it is in
-- the case's log and replays with it. Rows are never changed or removed by the application.

CREATE TABLE letters (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    authority_id    bigint NOT NULL,
    case_id         bigint NOT NULL,
    notice          text NOT NULL CHECK (notice ~ '^[a-z0-9_-]{1,63}$'),
    template_sha256 text NOT NULL CHECK (template_sha256 ~ '^[0-9a-f]{64}$'),
    recipient_role  text NOT NULL CHECK (recipient_role ~ '^[a-z0-9_-]{1,63}$'),
    recipient_name  text NOT NULL CHECK (length(recipient_name) BETWEEN 1 AND 200),
    request_key     text CHECK (request_key ~ '^[a-z0-9_-]{1,63}$'),
    -- a PDF (it starts "%PDF-"), at most 10 MB, and the hash of exactly these bytes
    pdf             bytea NOT NULL CHECK (octet_length(pdf) BETWEEN 5 AND 10485760
                                          AND substring(pdf FROM 1 FOR 5) = '\x255044462d'::bytea),
    pdf_sha256      text NOT NULL,
    generated_by    bigint NOT NULL REFERENCES users (id),
    generated_at    timestamptz NOT NULL,
    CHECK (pdf_sha256 = encode(sha256(pdf), 'hex')),
    UNIQUE (authority_id, id),
    FOREIGN KEY (authority_id, case_id) REFERENCES cases (authority_id, id)
);
CREATE INDEX letters_case ON letters (case_id, id);

ALTER TABLE letters ENABLE ROW LEVEL SECURITY;
ALTER TABLE letters FORCE ROW LEVEL SECURITY;
CREATE POLICY letters_by_authority ON letters
    USING (authority_id = ANY (ehc_session_authorities()))
    WITH CHECK (authority_id = ANY (ehc_session_authorities()));
GRANT SELECT, INSERT ON letters TO ehc_app;

-- What a letter is filled from: the case, its child, authority and officer, every deadline the engine
-- computed, its standing events (a corrected event is replaced by its correction) and its advice
-- requests. NULL when the case is not one of the caller's authorities'.
CREATE FUNCTION ehc_letter_context(p_authority_ids text, p_case_id bigint) RETURNS jsonb
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM set_config('ehc.authority_ids', p_authority_ids, true);
    RETURN (
        SELECT jsonb_build_object(
            'reference', c.reference, 'status', c.status, 'workflow_id', c.workflow_id, 'opened_on', c.opened_on,
            'authority_name', a.name,
            'case_officer', (SELECT u.display_name FROM users u WHERE u.id = c.officer_id),
            'child', jsonb_build_object('forename', ch.forename, 'surname', ch.surname,
                                        'date_of_birth', ch.date_of_birth, 'erased', ch.erased_at IS NOT NULL),
            'deadlines', coalesce((SELECT jsonb_agg(jsonb_build_object('key', d.deadline_key,
                                                                       'instance', d.instance_key,
                                                                       'due_on', d.due_on, 'status', d.status)
                                                    ORDER BY d.id)
                                   FROM deadlines d WHERE d.case_id = c.id), '[]'::jsonb),
            'events', coalesce((SELECT jsonb_agg(jsonb_build_object('seq', e.seq, 'type', e.type,
                                                                    'effective_on', e.effective_on,
                                                                    'fields', e.payload -> 'fields')
                                                 ORDER BY e.seq)
                                FROM case_events e
                                WHERE e.case_id = c.id
                                  AND NOT EXISTS (SELECT 1 FROM case_events s
                                                  WHERE s.case_id = e.case_id AND s.supersedes_seq = e.seq)),
                               '[]'::jsonb),
            'advice', coalesce((SELECT jsonb_agg(jsonb_build_object('request_key', r.request_key,
                                                                    'adviser', r.adviser_type, 'due_on', r.due_on))
                                FROM advice_requests r WHERE r.case_id = c.id), '[]'::jsonb))
        FROM cases c
        JOIN children ch ON ch.id = c.child_id
        JOIN local_authorities a ON a.id = c.authority_id
        WHERE c.id = p_case_id);
END
$$;

-- Stores a generated letter (the PDF as hex) and its line in the access log, together.
CREATE FUNCTION ehc_letter_insert(p_authority_ids text, p_authority_id bigint, p_case_id bigint, p_notice text,
                                  p_template_sha256 text, p_recipient_role text, p_recipient_name text,
                                  p_request_key text, p_pdf_hex text, p_user_id bigint,
                                  p_generated_at timestamptz, p_request_id text) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    v_id bigint;
    v_sha text;
    v_bytes integer;
BEGIN
    PERFORM set_config('ehc.authority_ids', p_authority_ids, true);
    INSERT INTO letters (authority_id, case_id, notice, template_sha256, recipient_role, recipient_name,
                         request_key, pdf, pdf_sha256, generated_by, generated_at)
    SELECT p_authority_id, p_case_id, p_notice, p_template_sha256, p_recipient_role, p_recipient_name,
           p_request_key, b.pdf, encode(sha256(b.pdf), 'hex'), p_user_id, p_generated_at
    FROM (SELECT decode(p_pdf_hex, 'hex') AS pdf) b
    RETURNING id, pdf_sha256, octet_length(pdf) INTO v_id, v_sha, v_bytes;
    INSERT INTO access_log (authority_id, user_id, case_id, action, resource, request_id)
    VALUES (p_authority_id, p_user_id, p_case_id, 'write', 'letter ' || v_id, p_request_id);
    RETURN jsonb_build_object('id', v_id, 'pdf_sha256', v_sha, 'bytes', v_bytes);
END
$$;

-- A case's letters, newest first, each with its sendings (the events that name it); the read is
-- logged with it.
CREATE FUNCTION ehc_letter_list(p_authority_ids text, p_case_id bigint, p_authority_id bigint, p_user_id bigint,
                                p_request_id text) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    v jsonb;
BEGIN
    PERFORM set_config('ehc.authority_ids', p_authority_ids, true);
    SELECT coalesce(jsonb_agg(jsonb_build_object(
               'id', l.id, 'notice', l.notice, 'template_sha256', l.template_sha256,
               'recipient_role', l.recipient_role, 'recipient_name', l.recipient_name,
               'request_key', l.request_key, 'pdf_sha256', l.pdf_sha256, 'bytes', octet_length(l.pdf),
               'generated_by', l.generated_by,
               'generated_by_name', (SELECT u.display_name FROM users u WHERE u.id = l.generated_by),
               'generated_at', l.generated_at,
               'sendings', coalesce((SELECT jsonb_agg(jsonb_build_object(
                                         'seq', e.seq, 'event', e.type, 'sent_on', e.effective_on,
                                         'method', e.payload -> 'fields' ->> 'method',
                                         'sent_at', e.payload -> 'fields' ->> 'sent_at',
                                         'served_on', coalesce(e.payload -> 'fields' ->> 'served_on',
                                                               e.effective_on::text),
                                         'recipient', coalesce(e.payload -> 'fields' ->> 'recipient',
                                                               l.recipient_role),
                                         'recorded_by', e.actor_id) ORDER BY e.seq)
                                     FROM case_events e
                                     WHERE e.case_id = l.case_id AND e.type IN ('letter_sent', 'draft_served')
                                       AND e.payload -> 'fields' ->> 'letter_id' = l.id::text), '[]'::jsonb))
               ORDER BY l.id DESC), '[]'::jsonb)
    INTO v
    FROM letters l WHERE l.case_id = p_case_id;
    INSERT INTO access_log (authority_id, user_id, case_id, action, resource, request_id)
    VALUES (p_authority_id, p_user_id, p_case_id, 'read', 'letters', p_request_id);
    RETURN v;
END
$$;

-- One letter without its PDF (for recording its sending), or no row.
CREATE FUNCTION ehc_letter_get(p_authority_ids text, p_case_id bigint, p_letter_id bigint)
RETURNS TABLE (notice text, recipient_role text, request_key text)
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM set_config('ehc.authority_ids', p_authority_ids, true);
    RETURN QUERY SELECT l.notice, l.recipient_role, l.request_key FROM letters l
                 WHERE l.id = p_letter_id AND l.case_id = p_case_id;
END
$$;

-- A letter's PDF (as hex), its download recorded in the access log in the same transaction: no PDF
-- leaves without its line.
CREATE FUNCTION ehc_letter_pdf_logged(p_authority_ids text, p_case_id bigint, p_letter_id bigint,
                                      p_authority_id bigint, p_user_id bigint, p_request_id text)
RETURNS TABLE (notice text, pdf_sha256 text, pdf_hex text)
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM set_config('ehc.authority_ids', p_authority_ids, true);
    RETURN QUERY SELECT l.notice, l.pdf_sha256, encode(l.pdf, 'hex') FROM letters l
                 WHERE l.id = p_letter_id AND l.case_id = p_case_id;
    IF FOUND THEN
        INSERT INTO access_log (authority_id, user_id, case_id, action, resource, request_id)
        VALUES (p_authority_id, p_user_id, p_case_id, 'download', 'letter ' || p_letter_id, p_request_id);
    END IF;
END
$$;

GRANT EXECUTE ON FUNCTION ehc_letter_context(text, bigint),
    ehc_letter_insert(text, bigint, bigint, text, text, text, text, text, text, bigint, timestamptz, text),
    ehc_letter_list(text, bigint, bigint, bigint, text), ehc_letter_get(text, bigint, bigint),
    ehc_letter_pdf_logged(text, bigint, bigint, bigint, bigint, text) TO ehc_app;
