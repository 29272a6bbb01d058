/* ehcd's entry point: reads the configuration (defaults, --config file or EHCD_CONFIG, then the
 * environment) and runs one command: serve, migrate, admin-init, version. Commands other than
 * serve are short-lived administration tools and may use blocking libpq. */
#include <libpq-fe.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ehc/app.h"
#include "ehc/config.h"
#include "ehc/clock.h"
#include "ehc/credential.h"
#include "ehc/date.h"
#include "ehc/definitions.h"
#include "ehc/erase.h"
#include "ehc/import.h"
#include "ehc/log.h"
#include "ehc/migrate.h"
#include "ehc/notices.h"
#include "ehc/timeline.h"
#include "ehc/verify.h"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: ehcd [--config FILE] COMMAND\n"
            "\n"
            "commands:\n"
            "  serve [--sim-clock[=YYYY-MM-DDTHH:MM:SSZ]]\n"
            "               apply pending migrations, then serve the API and web UI; --sim-clock takes\n"
            "               \"now\" from POST /admin/clock (for tests and demonstrations only), starting\n"
            "               on a fresh database at the instant given (default: the real time)\n"
            "  migrate      apply pending database migrations and exit\n"
            "  admin-init   create the first administrator (if none exists) and print its password once\n"
            "  check        load and validate every workflow, calendar and letter template, print their "
            "versions\n"
            "  timeline WORKFLOW EVENTS [--today YYYY-MM-DD]\n"
            "               replay a case's events (a JSON file, or - for standard input) through a\n"
            "               workflow (an id from workflows_dir, or a .json file) and print every date\n"
            "               with its kind, legal basis and status\n"
            "  verify       replay every case's events and report any stored projection, deadline,\n"
            "               SEN2 code or SEN2 record that differs (exit status 1 if any does)\n"
            "  import DIR --authority CODE --source NAME [--dry-run] [--today YYYY-MM-DD]\n"
            "               bring a council's cases in from the CSV files in DIR (docs/import.md):\n"
            "               every row is checked and every history replayed through the machine\n"
            "               first; any problem is listed (file,row,column) and nothing is written;\n"
            "               --dry-run lists what would be created and what is overdue on arrival\n"
            "  export --authority CODE --case ID --out DIR\n"
            "               write the case's child and every case of that child as import files\n"
            "  erase CASE   erase the personal data of the case's child after retention, if approved\n"
            "  version      print the version and the schema version this binary needs\n"
            "\n"
            "settings (file key / environment variable):\n"
            "  listen / EHCD_LISTEN                 address:port to serve on (127.0.0.1:8080)\n"
            "  database_url / DATABASE_URL          libpq conninfo or URI (required)\n"
            "  log_level / EHCD_LOG_LEVEL           debug, info, warn, error (info)\n"
            "  time_zone / EHCD_TIME_ZONE           Europe/London (the only one: English statute)\n"
            "  alert_hour / EHCD_ALERT_HOUR         local hour alerts fire (7)\n"
            "  db_pool_size / EHCD_DB_POOL_SIZE     database connections (4)\n"
            "  shutdown_grace_ms / EHCD_SHUTDOWN_GRACE_MS  time for requests in flight at stop (10000)\n"
            "  workflows_dir / EHCD_WORKFLOWS_DIR   workflow definitions and calendars/\n");
}

static int load_config(const char *path, ehc_config *cfg)
{
    ehc_load_error err;
    ehc_config_defaults(cfg);
    if (!path) path = getenv("EHCD_CONFIG");
    if (path && *path && ehc_config_load_file(cfg, path, &err)) goto bad;
    if (ehc_config_load_env(cfg, &err)) goto bad;
    ehc_log_set_level(cfg->log_level);
    return 0;
bad:
    ehc_log(EHC_LOG_ERROR, "config_invalid", NULL, "%s: %s%s%s", err.file, err.path, *err.path ? ": " : "",
            err.reason);
    return EHC_EINVAL;
}

static PGconn *connect_blocking(const ehc_config *cfg, int wait_seconds)
{
    if (!*cfg->database_url) {
        ehc_log(EHC_LOG_ERROR, "config_invalid", NULL,
                "database_url is not set (DATABASE_URL or the config file)");
        return NULL;
    }
    for (int attempt = 0;; attempt++) {
        PGconn *conn = PQconnectdb(cfg->database_url);
        if (PQstatus(conn) == CONNECTION_OK) return conn;
        if (attempt >= wait_seconds) {
            ehc_log(EHC_LOG_ERROR, "db_connect_failed", NULL, "cannot connect to the database: %s",
                    PQerrorMessage(conn));
            PQfinish(conn);
            return NULL;
        }
        if (attempt == 0)
            ehc_log(EHC_LOG_WARN, "db_waiting", NULL, "database not reachable yet; retrying for up to %d s",
                    wait_seconds);
        PQfinish(conn);
        sleep(1);
    }
}

static int run_migrations(const ehc_config *cfg, int wait_seconds)
{
    /* the wait covers a connection lost while migrating too (the database restarted meanwhile):
     * each migration is its own transaction under the advisory lock, so starting again is safe */
    time_t deadline = time(NULL) + wait_seconds;
    int applied = 0, rc;
    char err[1024];
    for (;;) {
        time_t now = time(NULL);
        PGconn *conn = connect_blocking(cfg, now < deadline ? (int)(deadline - now) : 0);
        if (!conn) return 1;
        rc = ehc_migrate_apply(conn, &applied, err, sizeof err);
        bool lost = rc && PQstatus(conn) == CONNECTION_BAD;
        PQfinish(conn);
        if (!lost || time(NULL) >= deadline) break;
        ehc_log(EHC_LOG_WARN, "migrate_retry", NULL,
                "the database connection was lost while migrating; retrying");
        sleep(1);
    }
    if (rc) {
        ehc_log(EHC_LOG_ERROR, "migrate_failed", NULL, "%s", err);
        return 1;
    }
    ehc_log(EHC_LOG_INFO, "migrate_done", NULL, "%d migration(s) applied; schema at version %d", applied,
            ehc_migrate_latest_version());
    return 0;
}

static int cmd_admin_init(const ehc_config *cfg, const char *username)
{
    PGconn *conn = connect_blocking(cfg, 0);
    if (!conn) return 1;
    int rc = 1;
    PGresult *r = PQexec(conn, "SELECT count(*) FROM users WHERE is_admin AND disabled_at IS NULL");
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        ehc_log(EHC_LOG_ERROR, "admin_init_failed", NULL, "%s", PQresultErrorMessage(r));
        goto out;
    }
    if (atoi(PQgetvalue(r, 0, 0)) > 0) {
        printf("An administrator already exists; no new credential was created.\n");
        rc = 0;
        goto out;
    }
    char password[64], hash[EHC_PASSWORD_HASH_MAX];
    if (ehc_random_token(18, password, sizeof password) || ehc_password_hash(password, hash, sizeof hash)) {
        ehc_log(EHC_LOG_ERROR, "admin_init_failed", NULL, "cannot generate a credential");
        goto out;
    }
    PQclear(r);
    const char *params[2] = {username, hash};
    r = PQexecParams(conn,
                     "INSERT INTO users (username, display_name, password_hash, is_admin) "
                     "VALUES ($1, 'Administrator', $2, true)",
                     2, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_COMMAND_OK) {
        ehc_log(EHC_LOG_ERROR, "admin_init_failed", NULL, "%s", PQresultErrorMessage(r));
        goto out;
    }
    /* The one and only time this password exists in clear: on the operator's terminal. */
    printf("Administrator created.\n  username: %s\n  password: %s\n"
           "This password is shown once and is not stored; keep it safe.\n",
           username, password);
    rc = 0;
out:
    PQclear(r);
    PQfinish(conn);
    return rc;
}

static int load_definitions(const ehc_config *cfg, ehc_definitions **defs)
{
    ehc_load_error err;
    if (ehc_definitions_load(cfg->workflows_dir, defs, &err) == 0) return 0;
    /* stderr, not the JSON log: this is read by the analyst who edited the file */
    fprintf(stderr, "ehcd: invalid definition: %s%s%s: %s\n", err.file, *err.path ? " at " : "", err.path,
            err.reason);
    ehc_log(EHC_LOG_ERROR, "definitions_invalid", NULL, "%s %s: %s", err.file, err.path, err.reason);
    return EHC_EINVAL;
}

static int cmd_check(const ehc_config *cfg)
{
    ehc_definitions *defs;
    if (load_definitions(cfg, &defs)) return 2;
    const ehc_calendar_set *cals = ehc_definitions_calendars(defs);
    for (size_t i = 0; i < ehc_calendar_set_count(cals); i++) {
        const ehc_calendar *c = ehc_calendar_set_at(cals, i);
        printf("calendar %-32s %s  %s\n", ehc_calendar_id(c), ehc_calendar_content_hash(c),
               ehc_calendar_file(c));
    }
    for (size_t i = 0; i < ehc_calendar_set_setting_count(cals); i++) {
        const ehc_setting_calendar *c = ehc_calendar_set_setting_at(cals, i);
        printf("setting  %-32s %s  %s\n", ehc_setting_calendar_id(c), ehc_setting_calendar_content_hash(c),
               ehc_setting_calendar_file(c));
    }
    for (size_t i = 0; i < ehc_definitions_workflow_count(defs); i++) {
        const ehc_workflow *wf = ehc_definitions_workflow_at(defs, i);
        printf("workflow %-32s %s  %s\n", ehc_workflow_id(wf), ehc_workflow_content_hash(wf),
               ehc_workflow_file(wf));
    }
    /* the letter templates, checked against the workflows */
    ehc_notices *notices = NULL;
    ehc_load_error err = {0};
    if (ehc_notices_load(cfg->notices_dir, &notices, &err) != 0 ||
        ehc_notices_check(notices, defs, &err) != 0) {
        ehc_log(EHC_LOG_ERROR, "notices_invalid", NULL, "%s %s: %s", err.file, err.path, err.reason);
        ehc_notices_free(notices);
        ehc_definitions_free(defs);
        return 2;
    }
    for (size_t i = 0; i < ehc_notices_count(notices); i++) {
        const ehc_notice *n = ehc_notices_at(notices, i);
        printf("notice   %-32s %s  %s%s\n", ehc_notice_id(n), ehc_notice_sha256(n), ehc_notice_title(n),
               ehc_notice_is_part(n) ? " (a part)" : "");
    }
    ehc_notices_free(notices);
    ehc_definitions_free(defs);
    return 0;
}

static char *read_all(const char *path)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 4096, len = 0;
    char *buf = ehc_malloc(cap);
    size_t n;
    while ((n = fread(buf + len, 1, cap - len - 1, f)) > 0) {
        len += n;
        if (cap - len < 2) buf = ehc_realloc(buf, cap *= 2);
    }
    buf[len] = '\0';
    if (f != stdin) fclose(f);
    return buf;
}

static int cmd_timeline(const ehc_config *cfg, int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: ehcd timeline WORKFLOW EVENTS.json [--today YYYY-MM-DD]\n");
        return 2;
    }
    ehc_date today;
    ehc_clock real = ehc_clock_real();
    if (argc >= 4 && strcmp(argv[2], "--today") == 0) {
        if (ehc_date_parse_iso(argv[3], &today)) {
            fprintf(stderr, "ehcd timeline: --today must be a date written YYYY-MM-DD, got \"%s\"\n",
                    argv[3]);
            return 2;
        }
    } else if (ehc_clock_today(&real, &today)) {
        fprintf(stderr, "ehcd timeline: cannot tell today's date\n");
        return 1;
    }
    ehc_definitions *defs;
    if (load_definitions(cfg, &defs)) return 2;
    const ehc_workflow *wf = NULL;
    ehc_workflow *own = NULL;
    size_t wlen = strlen(argv[0]);
    if (wlen > 5 && strcmp(argv[0] + wlen - 5, ".json") == 0) {
        ehc_load_error err;
        if (ehc_workflow_load_file(argv[0], ehc_definitions_calendars(defs), &own, &err)) {
            fprintf(stderr, "ehcd: invalid definition: %s at %s: %s\n", err.file, err.path, err.reason);
            ehc_definitions_free(defs);
            return 2;
        }
        wf = own;
    } else if (ehc_definitions_find(defs, argv[0], &wf)) {
        fprintf(stderr, "ehcd timeline: no workflow with id '%s' in %s\n", argv[0], cfg->workflows_dir);
        ehc_definitions_free(defs);
        return 2;
    }
    char *events = read_all(argv[1]);
    int rc = 0;
    if (!events) {
        fprintf(stderr, "ehcd timeline: cannot read %s\n", argv[1]);
        rc = 2;
    } else {
        ehc_machine_error merr;
        memset(&merr, 0, sizeof merr);
        if (ehc_timeline_render(wf, ehc_definitions_calendars(defs), events, today, stdout, &merr)) {
            fprintf(stderr, "ehcd timeline: %s%s%s\n", merr.message, *merr.field ? "; field: " : "",
                    merr.field);
            rc = 1;
        }
    }
    free(events);
    ehc_workflow_free(own);
    ehc_definitions_free(defs);
    return rc;
}

/* Keeps the loaded versions in the database and loads the older ones it holds (docs/adr/0001). */
static int sync_definitions(PGconn *conn, ehc_definitions *defs)
{
    ehc_load_error err;
    if (ehc_definitions_sync(defs, conn, &err) == 0) return 0;
    ehc_log(EHC_LOG_ERROR, "definition_versions_failed", NULL, "%s: %s", err.file, err.reason);
    return 1;
}

/* The same at start, waiting out a database that restarts meanwhile (as run_migrations does: keeping
 * the versions is idempotent, so starting again is safe). */
static int sync_definitions_waiting(const ehc_config *cfg, ehc_definitions *defs, int wait_seconds)
{
    time_t deadline = time(NULL) + wait_seconds;
    for (;;) {
        time_t now = time(NULL);
        PGconn *conn = connect_blocking(cfg, now < deadline ? (int)(deadline - now) : 0);
        if (!conn) return 1;
        ehc_load_error err;
        int rc = ehc_definitions_sync(defs, conn, &err);
        bool lost = rc && PQstatus(conn) == CONNECTION_BAD;
        PQfinish(conn);
        if (rc == 0) return 0;
        if (!lost || time(NULL) >= deadline) {
            ehc_log(EHC_LOG_ERROR, "definition_versions_failed", NULL, "%s: %s", err.file, err.reason);
            return 1;
        }
        ehc_log(EHC_LOG_WARN, "definition_versions_retry", NULL,
                "the database connection was lost while keeping the definition versions; retrying");
        sleep(1);
    }
}

static int cmd_verify(const ehc_config *cfg)
{
    ehc_definitions *defs;
    if (load_definitions(cfg, &defs)) return 2;
    PGconn *conn = connect_blocking(cfg, 0);
    if (!conn || sync_definitions(conn, defs)) {
        PQfinish(conn);
        ehc_definitions_free(defs);
        return 2;
    }
    long checked = 0, differences = 0;
    int rc = ehc_verify_run(conn, defs, stdout, &checked, &differences);
    PQfinish(conn);
    ehc_definitions_free(defs);
    if (rc) return 2;
    printf("%ld case(s) replayed, %ld difference(s)\n", checked, differences);
    return differences ? 1 : 0;
}

static int cmd_erase(const ehc_config *cfg, int argc, char **argv)
{
    char *end;
    long long id = argc >= 1 ? strtoll(argv[0], &end, 10) : 0;
    if (argc < 1 || *end || id <= 0) {
        fprintf(stderr, "usage: ehcd erase CASE_ID\n");
        return 2;
    }
    ehc_clock real = ehc_clock_real();
    ehc_date today;
    if (ehc_clock_today(&real, &today)) return 1;
    PGconn *conn = connect_blocking(cfg, 0);
    if (!conn) return 2;
    int rc = ehc_erase_case_child(conn, id, today, stdout);
    PQfinish(conn);
    return rc == 0 ? 0 : rc == EHC_EIO ? 2 : 1;
}

static int cmd_import(const ehc_config *cfg, int argc, char **argv)
{
    const char *dir = NULL, *authority = NULL, *source = NULL, *today_text = NULL;
    bool dry_run = false;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--authority") == 0 && i + 1 < argc)
            authority = argv[++i];
        else if (strcmp(argv[i], "--source") == 0 && i + 1 < argc)
            source = argv[++i];
        else if (strcmp(argv[i], "--today") == 0 && i + 1 < argc)
            today_text = argv[++i];
        else if (strcmp(argv[i], "--dry-run") == 0)
            dry_run = true;
        else if (argv[i][0] != '-' && !dir)
            dir = argv[i];
        else {
            fprintf(stderr, "ehcd import: unknown option %s\n", argv[i]);
            return 2;
        }
    }
    if (!dir || !authority || !source) {
        fprintf(stderr,
                "usage: ehcd import DIR --authority CODE --source NAME [--dry-run] [--today YYYY-MM-DD]\n");
        return 2;
    }
    ehc_clock real = ehc_clock_real();
    ehc_instant now = ehc_clock_now(&real);
    ehc_date today;
    if (today_text) {
        /* a chosen "today" (tests, rehearsals): the events are recorded at its noon */
        if (ehc_date_parse_iso(today_text, &today) || ehc_date_fire_instant(today, 12, 0, &now)) {
            fprintf(stderr, "ehcd import: --today must be a date written YYYY-MM-DD\n");
            return 2;
        }
    } else if (ehc_date_of_instant(now, &today)) {
        fprintf(stderr, "ehcd import: cannot tell today's date\n");
        return 1;
    }
    ehc_definitions *defs;
    if (load_definitions(cfg, &defs)) return 2;
    char *bytes[EHC_IMPORT_FILE_COUNT] = {0};
    ehc_import_input inputs[EHC_IMPORT_FILE_COUNT];
    int rc = 0;
    for (size_t f = 0; f < EHC_IMPORT_FILE_COUNT; f++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, ehc_import_file_name(f));
        ehc_load_error err;
        inputs[f].bytes = NULL;
        inputs[f].len = 0;
        if (access(path, F_OK) != 0) continue;
        if (ehc_read_file(path, (size_t)1 << 30, &bytes[f], &inputs[f].len, &err)) {
            fprintf(stderr, "ehcd import: %s: %s\n", path, err.reason);
            rc = 2;
            continue;
        }
        inputs[f].bytes = bytes[f];
    }
    if (rc == 0) {
        ehc_import *imp = ehc_import_prepare(defs, inputs, today);
        PGconn *conn = ehc_import_problem_count(imp) ? NULL : connect_blocking(cfg, 0);
        if (!conn && ehc_import_problem_count(imp) == 0) {
            rc = 2;
        } else if (conn && !dry_run && sync_definitions(conn, defs)) {
            /* the versions the cases are pinned to are kept, as serve keeps them */
            rc = 2;
        } else {
            ehc_import_write_options opts = {
                .authority_code = authority, .source_system = source, .recorded_at = now, .dry_run = dry_run};
            ehc_import_summary sum;
            int w = ehc_import_write(conn, imp, &opts, stdout, &sum);
            rc = w == 0 ? 0 : w == EHC_EINVAL ? 1 : 2;
        }
        if (conn) PQfinish(conn);
        ehc_import_free(imp);
    }
    for (size_t f = 0; f < EHC_IMPORT_FILE_COUNT; f++)
        free(bytes[f]);
    ehc_definitions_free(defs);
    return rc;
}

static int cmd_export(const ehc_config *cfg, int argc, char **argv)
{
    const char *authority = NULL, *out = NULL;
    long long case_id = 0;
    for (int i = 0; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--authority") == 0)
            authority = argv[i + 1];
        else if (strcmp(argv[i], "--case") == 0)
            case_id = strtoll(argv[i + 1], NULL, 10);
        else if (strcmp(argv[i], "--out") == 0)
            out = argv[i + 1];
    }
    if (!authority || !out || case_id <= 0 || argc % 2) {
        fprintf(stderr, "usage: ehcd export --authority CODE --case ID --out DIR\n");
        return 2;
    }
    PGconn *conn = connect_blocking(cfg, 0);
    int rc = 2;
    if (conn) {
        char why[256] = "";
        int e = ehc_import_export_case(conn, authority, case_id, out, why);
        if (e == 0)
            printf("exported the child of case %lld and every case of that child to %s\n", case_id, out);
        else
            fprintf(stderr, "ehcd export: %s\n", why);
        rc = e == 0 ? 0 : e == EHC_EIO ? 2 : 1;
        PQfinish(conn);
    }
    return rc;
}

int main(int argc, char **argv)
{
    const char *config_path = NULL;
    int i = 1;
    while (i < argc && argv[i][0] == '-') {
        if (strcmp(argv[i], "--config") == 0 && i + 1 < argc) {
            config_path = argv[i + 1];
            i += 2;
        } else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return 0;
        } else {
            fprintf(stderr, "ehcd: unknown option %s\n", argv[i]);
            usage(stderr);
            return 2;
        }
    }
    if (i >= argc) {
        usage(stderr);
        return 2;
    }
    const char *cmd = argv[i++];
    if (strcmp(cmd, "version") == 0) {
        printf("ehcd %s (schema version %d)\n", EHC_VERSION, ehc_migrate_latest_version());
        return 0;
    }
    if (strcmp(cmd, "help") == 0) {
        usage(stdout);
        return 0;
    }
    ehc_config cfg;
    if (load_config(config_path, &cfg)) return 2;

    if (strcmp(cmd, "migrate") == 0) return run_migrations(&cfg, 0);
    if (strcmp(cmd, "check") == 0) return cmd_check(&cfg);
    if (strcmp(cmd, "verify") == 0) return cmd_verify(&cfg);
    if (strcmp(cmd, "import") == 0) return cmd_import(&cfg, argc - i, argv + i);
    if (strcmp(cmd, "export") == 0) return cmd_export(&cfg, argc - i, argv + i);
    if (strcmp(cmd, "erase") == 0) return cmd_erase(&cfg, argc - i, argv + i);
    if (strcmp(cmd, "timeline") == 0) return cmd_timeline(&cfg, argc - i, argv + i);
    if (strcmp(cmd, "admin-init") == 0) {
        const char *username = "admin";
        if (i + 1 < argc && strcmp(argv[i], "--username") == 0) username = argv[i + 1];
        return cmd_admin_init(&cfg, username);
    }
    if (strcmp(cmd, "serve") == 0) {
        for (; i < argc; i++) {
            ehc_instant start = {0};
            if (strncmp(argv[i], "--sim-clock=", 12) == 0) {
                if (ehc_instant_parse_utc(argv[i] + 12, &start)) {
                    fprintf(stderr, "ehcd serve: --sim-clock=%s: give the start as YYYY-MM-DDTHH:MM:SSZ\n",
                            argv[i] + 12);
                    return 2;
                }
            } else if (strcmp(argv[i], "--sim-clock") != 0) {
                fprintf(stderr, "ehcd serve: unknown option %s\n", argv[i]);
                return 2;
            }
            cfg.sim_clock = true;
            cfg.sim_clock_start_us = start.us;
        }
        /* the law first: ehcd never serves on an invalid definition */
        ehc_definitions *defs;
        if (load_definitions(&cfg, &defs)) return 2;
        const char *wait = getenv("EHCD_DB_WAIT_S");
        int rc = run_migrations(&cfg, wait ? atoi(wait) : 30);
        if (rc == 0) rc = sync_definitions_waiting(&cfg, defs, wait ? atoi(wait) : 30);
        if (rc == 0) rc = ehc_app_serve(&cfg, defs);
        ehc_definitions_free(defs);
        return rc;
    }
    fprintf(stderr, "ehcd: unknown command %s\n", cmd);
    usage(stderr);
    return 2;
}
