-- Documents attached to a case: advice reports, draft and final plans, representations, tribunal
-- orders. Each is stored whole, in PostgreSQL, as bytea in a table of its own:
--  * bytea, not large objects: a large object is not a row, so row-level security cannot bind it
--    (pg_largeobject has no policies; its access is one ACL per object), nothing deletes it with
--    its case (orphans need vacuumlo), and its privileges are checked apart from the case's. A
--    bytea row is bound by the same authority policy as every other case table, is written in the
--    same transaction as its metadata and its access-log line, and goes with pg_dump as data.
--    Documents are a few MiB (the limit is max_document_bytes, 20 MiB by default; bytea holds up
--    to 1 GiB), read whole, never updated.
--  * the content in its own table, so that listing a case's documents never touches it, and so that
--    erasing it can one day keep the record that it existed (its hash, type and dates).
--  * STORAGE EXTERNAL: PDFs, DOCX, ODT, PNG and JPEG are compressed already; PostgreSQL does not
--    try again.
-- The hash (SHA-256, hex) and the size are computed here, from the bytes stored.

CREATE TABLE case_documents (
    id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    authority_id        bigint NOT NULL REFERENCES local_authorities (id),
    case_id             bigint NOT NULL REFERENCES cases (id),
    -- the advice request the report answers; a correction that removes the request from the case's
    -- log unlinks the document, which stays on the case
    advice_request_id   bigint REFERENCES advice_requests (id) ON DELETE SET NULL,
    request_key         text CHECK (request_key ~ '^[a-z0-9_-]{1,63}$'),
    kind                text NOT NULL CHECK (kind IN ('advice_report', 'draft_plan', 'final_plan', 'representation',
                                                      'tribunal_order', 'other')),
    file_name           text NOT NULL CHECK (length(file_name) BETWEEN 1 AND 200
                                             AND file_name !~ '[[:cntrl:]/\\"]'),
    media_type          text NOT NULL CHECK (media_type IN (
                            'application/pdf',
                            'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
                            'application/vnd.oasis.opendocument.text', 'image/png', 'image/jpeg', 'text/plain')),
    size_bytes          bigint NOT NULL CHECK (size_bytes BETWEEN 1 AND 268435456),
    sha256              text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    uploaded_by         bigint NOT NULL REFERENCES users (id),
    uploaded_role       text NOT NULL CHECK (uploaded_role IN ('officer', 'manager', 'service_manager', 'dco',
                                                               'social_care')),
    uploaded_at         timestamptz NOT NULL DEFAULT now(),
    request_id          text CHECK (length(request_id) <= 64)
);
CREATE INDEX case_documents_case ON case_documents (case_id, uploaded_at);
CREATE INDEX case_documents_advice ON case_documents (advice_request_id) WHERE advice_request_id IS NOT NULL;

CREATE TABLE case_document_contents (
    document_id     bigint PRIMARY KEY REFERENCES case_documents (id),
    authority_id    bigint NOT NULL REFERENCES local_authorities (id),
    content         bytea NOT NULL
);
ALTER TABLE case_document_contents ALTER COLUMN content SET STORAGE EXTERNAL;

DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['case_documents', 'case_document_contents']
    LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY %I ON %I USING (authority_id = ANY (ehc_session_authorities())) '
                       'WITH CHECK (authority_id = ANY (ehc_session_authorities()))', t || '_by_authority', t);
    END LOOP;
END
$$;

-- a document, once stored, is never changed
GRANT SELECT, INSERT ON case_documents, case_document_contents TO ehc_app;
GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO ehc_app;

CREATE FUNCTION ehc__document_json(d case_documents) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object('id', d.id, 'case_id', d.case_id, 'advice_request_id', d.advice_request_id,
                              'request_key', d.request_key, 'kind', d.kind, 'file_name', d.file_name,
                              'media_type', d.media_type, 'size_bytes', d.size_bytes, 'sha256', d.sha256,
                              'uploaded_by', d.uploaded_by,
                              'uploaded_by_name', (SELECT u.display_name FROM users u WHERE u.id = d.uploaded_by),
                              'uploaded_role', d.uploaded_role, 'uploaded_at', d.uploaded_at)
$$;

-- Whether a document is one the caller may see: p_scopes NULL for the case's own workers (officer,
-- manager, service manager: every document of the case); otherwise a DCO's or social-care team's
-- services as [[authority_id, organisation_id], ...]: the documents they uploaded, and those of the
-- advice requests addressed or forwarded to their services.
CREATE FUNCTION ehc__document_visible(d case_documents, p_scopes jsonb, p_user_id bigint) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT p_scopes IS NULL OR d.uploaded_by = p_user_id
        OR EXISTS (SELECT 1 FROM advice_requests a, jsonb_array_elements(p_scopes) s
                   WHERE a.id = d.advice_request_id AND (s ->> 0)::bigint = a.authority_id
                     AND (s ->> 1)::bigint IN (a.organisation_id, a.forwarded_to_id))
$$;

-- Stores a document of a case of p_authority_id (NULL when no such case there) with its line in the
-- access log, in one transaction. p_uploaded_us: ehcd's clock, as events are recorded.
CREATE FUNCTION ehc_document_insert(p_authority_id bigint, p_case_id bigint, p_advice_request_id bigint,
                                    p_kind text, p_file_name text, p_media_type text, p_content bytea,
                                    p_user_id bigint, p_role text, p_uploaded_us bigint, p_request_id text)
RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    d case_documents;
    v_key text;
BEGIN
    PERFORM set_config('ehc.authority_ids', p_authority_id::text, true);
    IF NOT EXISTS (SELECT 1 FROM cases c WHERE c.id = p_case_id) THEN
        RETURN NULL;
    END IF;
    IF p_advice_request_id IS NOT NULL THEN
        SELECT a.request_key INTO v_key FROM advice_requests a WHERE a.id = p_advice_request_id AND a.case_id = p_case_id;
        IF NOT FOUND THEN
            RETURN NULL;
        END IF;
    END IF;
    INSERT INTO case_documents (authority_id, case_id, advice_request_id, request_key, kind, file_name, media_type,
                                size_bytes, sha256, uploaded_by, uploaded_role, uploaded_at, request_id)
    VALUES (p_authority_id, p_case_id, p_advice_request_id, v_key, p_kind, p_file_name, p_media_type,
            length(p_content), encode(sha256(p_content), 'hex'), p_user_id, p_role,
            coalesce(to_timestamp(p_uploaded_us / 1000000.0), now()), p_request_id)
    RETURNING * INTO d;
    INSERT INTO case_document_contents (document_id, authority_id, content) VALUES (d.id, p_authority_id, p_content);
    INSERT INTO access_log (authority_id, user_id, case_id, action, resource, request_id)
    VALUES (p_authority_id, p_user_id, p_case_id, 'write', 'document', p_request_id);
    RETURN ehc__document_json(d);
END
$$;

-- A case's documents the caller may see, newest first, the listing in the access log; NULL when a
-- service-scoped caller (p_scopes) has no advice request on this case and uploaded nothing to it,
-- which the API answers 404, as for a case they cannot see.
CREATE FUNCTION ehc_document_list(p_authority_id bigint, p_case_id bigint, p_scopes jsonb, p_user_id bigint,
                                  p_request_id text)
RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    v jsonb;
BEGIN
    PERFORM set_config('ehc.authority_ids', p_authority_id::text, true);
    IF p_scopes IS NOT NULL
       AND NOT EXISTS (SELECT 1 FROM advice_requests a, jsonb_array_elements(p_scopes) s
                       WHERE a.case_id = p_case_id AND (s ->> 0)::bigint = a.authority_id
                         AND (s ->> 1)::bigint IN (a.organisation_id, a.forwarded_to_id))
       AND NOT EXISTS (SELECT 1 FROM case_documents d WHERE d.case_id = p_case_id AND d.uploaded_by = p_user_id) THEN
        RETURN NULL;
    END IF;
    SELECT coalesce(jsonb_agg(ehc__document_json(d) ORDER BY d.uploaded_at DESC, d.id DESC), '[]'::jsonb) INTO v
    FROM case_documents d
    WHERE d.case_id = p_case_id AND ehc__document_visible(d, p_scopes, p_user_id);
    INSERT INTO access_log (authority_id, user_id, case_id, action, resource, request_id)
    VALUES (p_authority_id, p_user_id, p_case_id, 'read', 'documents', p_request_id);
    RETURN v;
END
$$;

-- One document the caller may see, whole (no row when none), its download in the access log in the
-- same transaction. Every column is text or bytea, so that the API reads them all in binary.
CREATE FUNCTION ehc_document_fetch(p_authority_id bigint, p_case_id bigint, p_document_id bigint, p_scopes jsonb,
                                   p_user_id bigint, p_request_id text)
RETURNS TABLE (file_name text, media_type text, sha256 text, content bytea)
LANGUAGE plpgsql AS $$
DECLARE
    d case_documents;
BEGIN
    PERFORM set_config('ehc.authority_ids', p_authority_id::text, true);
    SELECT * INTO d FROM case_documents x WHERE x.id = p_document_id AND x.case_id = p_case_id;
    IF NOT FOUND OR NOT ehc__document_visible(d, p_scopes, p_user_id) THEN
        RETURN;
    END IF;
    INSERT INTO access_log (authority_id, user_id, case_id, action, resource, request_id)
    VALUES (p_authority_id, p_user_id, p_case_id, 'download', 'document', p_request_id);
    RETURN QUERY SELECT d.file_name, d.media_type, d.sha256, c.content
                 FROM case_document_contents c WHERE c.document_id = d.id;
END
$$;

GRANT EXECUTE ON FUNCTION ehc__document_json(case_documents), ehc__document_visible(case_documents, jsonb, bigint),
    ehc_document_insert(bigint, bigint, bigint, text, text, text, bytea, bigint, text, bigint, text),
    ehc_document_list(bigint, bigint, jsonb, bigint, text),
    ehc_document_fetch(bigint, bigint, bigint, jsonb, bigint, text) TO ehc_app;
