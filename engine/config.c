/* Configuration parsing and validation. Precedence, lowest first: built-in defaults, the file
 * given with --config (or EHCD_CONFIG), the environment. Each key has exactly one parser here,
 * shared by the file and the environment, so the two can never disagree. */
#include "ehc/config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void ehc_config_defaults(ehc_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    snprintf(cfg->listen_host, sizeof cfg->listen_host, "127.0.0.1");
    cfg->listen_port = 8080;
    cfg->log_level = EHC_LOG_INFO;
    snprintf(cfg->time_zone, sizeof cfg->time_zone, "Europe/London");
    cfg->alert_hour = 7;
    cfg->db_pool_size = 4;
    cfg->shutdown_grace_ms = 10000;
    cfg->request_timeout_ms = 10000;
    cfg->webhook_max_attempts = 8;
    cfg->max_document_bytes = 20 * 1024 * 1024;
    snprintf(cfg->mail_from, sizeof cfg->mail_from, "ehcd@localhost");
    snprintf(cfg->workflows_dir, sizeof cfg->workflows_dir, "%s/workflows", EHC_SOURCE_DIR);
    snprintf(cfg->web_root, sizeof cfg->web_root, "%s/api/web", EHC_SOURCE_DIR);
    snprintf(cfg->notices_dir, sizeof cfg->notices_dir, "%s/notices", EHC_SOURCE_DIR);
}

static int parse_int(const char *v, long lo, long hi, long *out)
{
    if (!*v) return EHC_EINVAL;
    char *end;
    errno = 0;
    long n = strtol(v, &end, 10);
    if (errno || *end || n < lo || n > hi) return EHC_EINVAL;
    *out = n;
    return 0;
}

static int parse_listen(ehc_config *cfg, const char *v)
{
    const char *colon = strrchr(v, ':');
    if (!colon || colon == v) return EHC_EINVAL;
    size_t hostlen = (size_t)(colon - v);
    char host[64];
    if (hostlen >= sizeof host) return EHC_EINVAL;
    memcpy(host, v, hostlen);
    host[hostlen] = '\0';
    if (host[0] == '[' && hostlen > 2 && host[hostlen - 1] == ']') {
        memmove(host, host + 1, hostlen - 2);
        host[hostlen - 2] = '\0';
    }
    unsigned char addr[16];
    if (inet_pton(AF_INET, host, addr) != 1 && inet_pton(AF_INET6, host, addr) != 1) return EHC_EINVAL;
    long port;
    if (parse_int(colon + 1, 1, 65535, &port)) return EHC_EINVAL;
    snprintf(cfg->listen_host, sizeof cfg->listen_host, "%s", host);
    cfg->listen_port = (int)port;
    return 0;
}

static int copy_string(char *dst, size_t size, const char *v)
{
    if (strlen(v) >= size) return EHC_EINVAL;
    snprintf(dst, size, "%s", v);
    return 0;
}

int ehc_config_set(ehc_config *cfg, const char *key, const char *value, const char *source,
                   ehc_load_error *err)
{
    long n;
    if (strcmp(key, "listen") == 0) {
        if (parse_listen(cfg, value) == 0) return 0;
        ehc_load_error_set(err, source, key, "expected ADDRESS:PORT with a numeric address, got \"%s\"",
                           value);
    } else if (strcmp(key, "database_url") == 0) {
        if (*value && copy_string(cfg->database_url, sizeof cfg->database_url, value) == 0) return 0;
        ehc_load_error_set(err, source, key, "must be a non-empty libpq conninfo or URI under 1024 bytes");
    } else if (strcmp(key, "log_level") == 0) {
        if (ehc_log_level_parse(value, &cfg->log_level) == 0) return 0;
        ehc_load_error_set(err, source, key, "must be one of debug, info, warn, error; got \"%s\"", value);
    } else if (strcmp(key, "time_zone") == 0) {
        /* Statutory dates under the Children and Families Act 2014 are English civil dates. */
        if (strcmp(value, "Europe/London") == 0)
            return copy_string(cfg->time_zone, sizeof cfg->time_zone, value);
        ehc_load_error_set(err, source, key,
                           "only Europe/London is supported (English statutory dates); got \"%s\"", value);
    } else if (strcmp(key, "alert_hour") == 0) {
        if (parse_int(value, 0, 23, &n) == 0) {
            cfg->alert_hour = (int)n;
            return 0;
        }
        ehc_load_error_set(err, source, key, "must be a whole hour from 0 to 23; got \"%s\"", value);
    } else if (strcmp(key, "db_pool_size") == 0) {
        if (parse_int(value, 1, 64, &n) == 0) {
            cfg->db_pool_size = (int)n;
            return 0;
        }
        ehc_load_error_set(err, source, key, "must be from 1 to 64; got \"%s\"", value);
    } else if (strcmp(key, "shutdown_grace_ms") == 0) {
        if (parse_int(value, 0, 600000, &n) == 0) {
            cfg->shutdown_grace_ms = (int)n;
            return 0;
        }
        ehc_load_error_set(err, source, key, "must be from 0 to 600000; got \"%s\"", value);
    } else if (strcmp(key, "request_timeout_ms") == 0) {
        if (parse_int(value, 100, 600000, &n) == 0) {
            cfg->request_timeout_ms = (int)n;
            return 0;
        }
        ehc_load_error_set(err, source, key, "must be from 100 to 600000; got \"%s\"", value);
    } else if (strcmp(key, "max_document_bytes") == 0) {
        /* at least 1 KiB; at most 256 MiB, a bound on what one upload can hold in memory */
        if (parse_int(value, 1024, 256L * 1024 * 1024, &n) == 0) {
            cfg->max_document_bytes = (size_t)n;
            return 0;
        }
        ehc_load_error_set(err, source, key, "must be a number of bytes from 1024 to 268435456; got \"%s\"",
                           value);
    } else if (strcmp(key, "workflows_dir") == 0) {
        if (*value && copy_string(cfg->workflows_dir, sizeof cfg->workflows_dir, value) == 0) return 0;
        ehc_load_error_set(err, source, key, "must be a directory path under 512 bytes");
    } else if (strcmp(key, "smtp_url") == 0) {
        if ((strncmp(value, "smtp://", 7) == 0 || strncmp(value, "smtps://", 8) == 0) &&
            copy_string(cfg->smtp_url, sizeof cfg->smtp_url, value) == 0)
            return 0;
        ehc_load_error_set(err, source, key, "must be smtp://host:port or smtps://host:port");
    } else if (strcmp(key, "smtp_username") == 0) {
        if (copy_string(cfg->smtp_username, sizeof cfg->smtp_username, value) == 0) return 0;
        ehc_load_error_set(err, source, key, "must be under 128 bytes");
    } else if (strcmp(key, "smtp_password") == 0) {
        if (copy_string(cfg->smtp_password, sizeof cfg->smtp_password, value) == 0) return 0;
        ehc_load_error_set(err, source, key, "must be under 256 bytes");
    } else if (strcmp(key, "mail_from") == 0) {
        if (strchr(value, '@') && !strpbrk(value, " <>\r\n") &&
            copy_string(cfg->mail_from, sizeof cfg->mail_from, value) == 0)
            return 0;
        ehc_load_error_set(err, source, key, "must be one email address, like alerts@council.gov.uk");
    } else if (strcmp(key, "webhook_max_attempts") == 0) {
        if (parse_int(value, 1, 100, &n) == 0) {
            cfg->webhook_max_attempts = (int)n;
            return 0;
        }
        ehc_load_error_set(err, source, key, "must be from 1 to 100; got \"%s\"", value);
    } else if (strcmp(key, "cookie_secure") == 0) {
        if (strcmp(value, "true") == 0 || strcmp(value, "false") == 0) {
            cfg->cookie_secure = strcmp(value, "true") == 0;
            return 0;
        }
        ehc_load_error_set(err, source, key, "must be true or false; got \"%s\"", value);
    } else if (strcmp(key, "notices_dir") == 0) {
        if (*value && copy_string(cfg->notices_dir, sizeof cfg->notices_dir, value) == 0) return 0;
        ehc_load_error_set(err, source, key, "must be a directory path under 512 bytes");
    } else if (strcmp(key, "web_root") == 0) {
        if (*value && copy_string(cfg->web_root, sizeof cfg->web_root, value) == 0) return 0;
        ehc_load_error_set(err, source, key, "must be a directory path under 512 bytes");
    } else {
        ehc_load_error_set(err, source, key, "unknown setting \"%s\"", key);
    }
    return EHC_EINVAL;
}

static char *trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    char *e = s + strlen(s);
    while (e > s && isspace((unsigned char)e[-1]))
        *--e = '\0';
    return s;
}

int ehc_config_load_file(ehc_config *cfg, const char *path, ehc_load_error *err)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        ehc_load_error_set(err, path, "", "cannot open: %s", strerror(errno));
        return EHC_EIO;
    }
    char line[2048];
    int lineno = 0;
    int rc = 0;
    while (rc == 0 && fgets(line, sizeof line, f)) {
        lineno++;
        char where[300];
        snprintf(where, sizeof where, "%s:%d", path, lineno);
        if (!strchr(line, '\n') && !feof(f)) {
            ehc_load_error_set(err, where, "", "line longer than %zu bytes", sizeof line - 2);
            rc = EHC_EINVAL;
            break;
        }
        char *s = trim(line);
        if (*s == '\0' || *s == '#') continue;
        char *eq = strchr(s, '=');
        if (!eq) {
            ehc_load_error_set(err, where, "", "expected key = value");
            rc = EHC_EINVAL;
            break;
        }
        *eq = '\0';
        char *key = trim(s);
        char *value = trim(eq + 1);
        size_t vlen = strlen(value);
        if (vlen >= 2 && value[0] == '"' && value[vlen - 1] == '"') {
            value[vlen - 1] = '\0';
            value++;
        }
        rc = ehc_config_set(cfg, key, value, where, err);
    }
    fclose(f);
    return rc;
}

int ehc_config_load_env(ehc_config *cfg, ehc_load_error *err)
{
    static const struct {
        const char *env;
        const char *key;
    } map[] = {
        {"EHCD_LISTEN", "listen"},
        {"DATABASE_URL", "database_url"},
        {"EHCD_LOG_LEVEL", "log_level"},
        {"EHCD_TIME_ZONE", "time_zone"},
        {"EHCD_ALERT_HOUR", "alert_hour"},
        {"EHCD_DB_POOL_SIZE", "db_pool_size"},
        {"EHCD_SHUTDOWN_GRACE_MS", "shutdown_grace_ms"},
        {"EHCD_REQUEST_TIMEOUT_MS", "request_timeout_ms"},
        {"EHCD_WORKFLOWS_DIR", "workflows_dir"},
        {"EHCD_WEB_ROOT", "web_root"},
        {"EHCD_NOTICES_DIR", "notices_dir"},
        {"EHCD_COOKIE_SECURE", "cookie_secure"},
        {"EHCD_SMTP_URL", "smtp_url"},
        {"EHCD_SMTP_USERNAME", "smtp_username"},
        {"EHCD_SMTP_PASSWORD", "smtp_password"},
        {"EHCD_MAIL_FROM", "mail_from"},
        {"EHCD_WEBHOOK_MAX_ATTEMPTS", "webhook_max_attempts"},
        {"EHCD_MAX_DOCUMENT_BYTES", "max_document_bytes"},
    };
    for (size_t i = 0; i < EHC_ARRAY_SIZE(map); i++) {
        const char *v = getenv(map[i].env);
        if (!v) continue;
        char where[64];
        snprintf(where, sizeof where, "environment %s", map[i].env);
        int rc = ehc_config_set(cfg, map[i].key, v, where, err);
        if (rc) return rc;
    }
    return 0;
}
