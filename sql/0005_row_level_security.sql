-- One authority never sees another's children. Every table holding case or person data carries
-- authority_id and a policy that admits only the authorities the transaction was bound to
-- (ehc_session_authorities(), set by the store per command). Security is FORCEd, so it binds the
-- table owner too; only a superuser bypasses it. The application role gets exactly the privileges
-- it needs: the event log and the access log are insert-only, nothing is ever deleted.

DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['teams', 'role_grants', 'access_log', 'children', 'family_contacts', 'child_needs',
                             'cases', 'case_events', 'deadlines', 'advice_requests', 'deadline_exceptions',
                             'case_report_codes', 'alerts', 'outbox', 'plans', 'placements']
    LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY %I ON %I USING (authority_id = ANY (ehc_session_authorities())) '
                       'WITH CHECK (authority_id = ANY (ehc_session_authorities()))', t || '_by_authority', t);
    END LOOP;
END
$$;

-- reference data every session may read
GRANT SELECT ON local_authorities, organisations, organisation_authorities, ehc_schema_migrations TO ehc_app;

-- people who sign in, and their roles, tokens and sessions
GRANT SELECT, INSERT, UPDATE ON users, role_grants, api_tokens, user_sessions, teams TO ehc_app;

-- case records
GRANT SELECT, INSERT, UPDATE ON children, family_contacts, cases, deadlines, advice_requests,
    deadline_exceptions, case_report_codes, alerts, outbox, plans, placements TO ehc_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON child_needs TO ehc_app;

-- append-only for the application: no UPDATE, no DELETE (and a trigger refuses them for anyone)
GRANT SELECT, INSERT ON case_events, access_log TO ehc_app;

GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO ehc_app;

-- `ehcd erase`: removes personal data after the retention date, keeping dates and outcomes
GRANT SELECT ON cases, case_events, local_authorities TO ehc_eraser;
GRANT SELECT, UPDATE ON children, family_contacts TO ehc_eraser;
GRANT SELECT, DELETE ON child_needs TO ehc_eraser;
GRANT SELECT, INSERT ON access_log TO ehc_eraser;
GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO ehc_eraser;
