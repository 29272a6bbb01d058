/* Every version of the law ehcd has served on, kept in the database (ehc_definition_versions): at
 * start the text of each workflow and bank-holiday calendar loaded is stored (once per content hash),
 * and every older version stored by an earlier ehcd is read back and pinned, so that a case opened
 * under an older workflow or calendar still replays and takes events under the versions it pinned,
 * until a manager moves it to the current ones with definitions_updated (docs/adr/0001). */
#include <libpq-fe.h>
#include <stdlib.h>
#include <string.h>

#include "ehc/definitions.h"
#include "ehc/log.h"

static int failed(PGresult *r, ehc_load_error *err, const char *what)
{
    ehc_load_error_set(err, "ehc_definition_versions", "", "%s: %s", what, PQresultErrorMessage(r));
    PQclear(r);
    return EHC_EIO;
}

int ehc_definitions_sync(ehc_definitions *defs, PGconn *conn, ehc_load_error *err)
{
    for (size_t i = 0; i < ehc_definitions_version_count(defs); i++) {
        ehc_definition_version v;
        if (ehc_definitions_version_at(defs, i, &v)) break;
        const char *params[4] = {v.sha256, v.kind, v.id, v.bytes};
        PGresult *r = PQexecParams(conn,
                                   "INSERT INTO ehc_definition_versions (sha256, kind, id, content) "
                                   "VALUES ($1, $2, $3, $4) ON CONFLICT (sha256, kind) DO NOTHING",
                                   4, NULL, params, NULL, NULL, 0);
        if (PQresultStatus(r) != PGRES_COMMAND_OK) return failed(r, err, "keeping a definition version");
        PQclear(r);
    }
    PGresult *r =
        PQexec(conn, "SELECT kind, id, content FROM ehc_definition_versions ORDER BY first_loaded_at, "
                     "kind, id, sha256");
    if (PQresultStatus(r) != PGRES_TUPLES_OK) return failed(r, err, "reading the definition versions");
    int refused = 0;
    for (int i = 0; i < PQntuples(r); i++) {
        ehc_load_error one;
        const char *content = PQgetvalue(r, i, 2);
        if (ehc_definitions_add_older(defs, PQgetvalue(r, i, 0), PQgetvalue(r, i, 1), content,
                                      (size_t)PQgetlength(r, i, 2), &one) != 0) {
            /* a calendar this ehcd no longer accepts: cases pinned to it refuse events, as before */
            ehc_log(EHC_LOG_WARN, "definition_version_refused", NULL, "%s %s: %s", one.file, one.path,
                    one.reason);
            refused++;
        }
    }
    int stored = PQntuples(r);
    PQclear(r);
    size_t pins = ehc_definitions_pin_older(defs);
    ehc_log(EHC_LOG_INFO, "definition_versions", NULL, "%d version(s) stored, %zu older pair(s) loadable%s",
            stored, pins, refused ? ", some refused" : "");
    return 0;
}
