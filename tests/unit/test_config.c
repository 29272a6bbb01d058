/* Configuration: defaults, the key = value file, the environment's precedence, and a clear
 * refusal (file, line, key, reason) for every bad value. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ehc/config.h"
#include "testlib.h"

static char *write_temp(const char *text)
{
    char *path = strdup("/tmp/ehc-config-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (int)strlen(text));
    close(fd);
    return path;
}

static void test_defaults_listen_on_loopback_8080_alerts_at_7(void **state)
{
    ehc_config cfg;
    ehc_config_defaults(&cfg);
    assert_string_equal(cfg.listen_host, "127.0.0.1");
    assert_int_equal(cfg.listen_port, 8080);
    assert_int_equal(cfg.alert_hour, 7);
    assert_string_equal(cfg.time_zone, "Europe/London");
    assert_int_equal(cfg.log_level, EHC_LOG_INFO);
}

static void test_file_sets_every_key(void **state)
{
    char *path = write_temp("# ehcd settings\n"
                            "listen = 0.0.0.0:9090\n"
                            "database_url = \"host=/tmp port=5 dbname=x\"\n"
                            "log_level = debug\n\n"
                            "time_zone = Europe/London\n"
                            "alert_hour = 6\n"
                            "db_pool_size = 8\n"
                            "shutdown_grace_ms = 2500\n"
                            "request_timeout_ms = 1500\n");
    ehc_config cfg;
    ehc_load_error err;
    ehc_config_defaults(&cfg);
    assert_int_equal(ehc_config_load_file(&cfg, path, &err), 0);
    assert_string_equal(cfg.listen_host, "0.0.0.0");
    assert_int_equal(cfg.listen_port, 9090);
    assert_string_equal(cfg.database_url, "host=/tmp port=5 dbname=x");
    assert_int_equal(cfg.log_level, EHC_LOG_DEBUG);
    assert_int_equal(cfg.alert_hour, 6);
    assert_int_equal(cfg.db_pool_size, 8);
    assert_int_equal(cfg.shutdown_grace_ms, 2500);
    assert_int_equal(cfg.request_timeout_ms, 1500);
    unlink(path);
    free(path);
}

static void test_environment_overrides_file(void **state)
{
    char *path = write_temp("alert_hour = 6\nlisten = 127.0.0.1:9000\n");
    ehc_config cfg;
    ehc_load_error err;
    ehc_config_defaults(&cfg);
    setenv("EHCD_ALERT_HOUR", "8", 1);
    setenv("DATABASE_URL", "postgresql://ehc@localhost/ehc", 1);
    assert_int_equal(ehc_config_load_file(&cfg, path, &err), 0);
    assert_int_equal(ehc_config_load_env(&cfg, &err), 0);
    assert_int_equal(cfg.alert_hour, 8);
    assert_int_equal(cfg.listen_port, 9000);
    assert_string_equal(cfg.database_url, "postgresql://ehc@localhost/ehc");
    unsetenv("EHCD_ALERT_HOUR");
    unsetenv("DATABASE_URL");
    unlink(path);
    free(path);
}

static void test_bad_file_value_names_line_key_and_reason(void **state)
{
    char *path = write_temp("listen = 127.0.0.1:8080\n\nalert_hour = 25\n");
    ehc_config cfg;
    ehc_load_error err;
    ehc_config_defaults(&cfg);
    assert_int_equal(ehc_config_load_file(&cfg, path, &err), EHC_EINVAL);
    char where[300];
    snprintf(where, sizeof where, "%s:3", path);
    assert_string_equal(err.file, where);
    assert_string_equal(err.path, "alert_hour");
    assert_non_null(strstr(err.reason, "0 to 23"));
    unlink(path);
    free(path);
}

static void test_unknown_key_refused(void **state)
{
    char *path = write_temp("listen_adress = 127.0.0.1:8080\n");
    ehc_config cfg;
    ehc_load_error err;
    ehc_config_defaults(&cfg);
    assert_int_equal(ehc_config_load_file(&cfg, path, &err), EHC_EINVAL);
    assert_non_null(strstr(err.reason, "unknown setting"));
    unlink(path);
    free(path);
}

static void test_line_without_equals_refused(void **state)
{
    char *path = write_temp("listen 127.0.0.1:8080\n");
    ehc_config cfg;
    ehc_load_error err;
    ehc_config_defaults(&cfg);
    assert_int_equal(ehc_config_load_file(&cfg, path, &err), EHC_EINVAL);
    assert_non_null(strstr(err.reason, "key = value"));
    unlink(path);
    free(path);
}

static void test_other_time_zones_refused(void **state)
{
    ehc_config cfg;
    ehc_load_error err;
    ehc_config_defaults(&cfg);
    assert_int_equal(ehc_config_set(&cfg, "time_zone", "UTC", "test", &err), EHC_EINVAL);
    assert_non_null(strstr(err.reason, "Europe/London"));
    assert_string_equal(cfg.time_zone, "Europe/London");
}

static void test_listen_values_checked(void **state)
{
    ehc_config cfg;
    ehc_load_error err;
    ehc_config_defaults(&cfg);
    const char *bad[] = {"localhost:8080",  "127.0.0.1", "127.0.0.1:0",
                         "127.0.0.1:70000", ":8080",     "1.2.3.4:80x"};
    for (size_t i = 0; i < EHC_ARRAY_SIZE(bad); i++) {
        assert_int_equal(ehc_config_set(&cfg, "listen", bad[i], "test", &err), EHC_EINVAL);
        assert_string_equal(err.path, "listen");
    }
    assert_int_equal(ehc_config_set(&cfg, "listen", "[::1]:8081", "test", &err), 0);
    assert_string_equal(cfg.listen_host, "::1");
    assert_int_equal(cfg.listen_port, 8081);
}

static void test_bad_environment_value_names_variable(void **state)
{
    ehc_config cfg;
    ehc_load_error err;
    ehc_config_defaults(&cfg);
    setenv("EHCD_LOG_LEVEL", "loud", 1);
    assert_int_equal(ehc_config_load_env(&cfg, &err), EHC_EINVAL);
    assert_string_equal(err.file, "environment EHCD_LOG_LEVEL");
    assert_non_null(strstr(err.reason, "loud"));
    unsetenv("EHCD_LOG_LEVEL");
}

static void test_missing_file_reports_io_error(void **state)
{
    ehc_config cfg;
    ehc_load_error err;
    ehc_config_defaults(&cfg);
    assert_int_equal(ehc_config_load_file(&cfg, "/nonexistent/ehcd.conf", &err), EHC_EIO);
    assert_string_equal(err.file, "/nonexistent/ehcd.conf");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults_listen_on_loopback_8080_alerts_at_7),
        cmocka_unit_test(test_file_sets_every_key),
        cmocka_unit_test(test_environment_overrides_file),
        cmocka_unit_test(test_bad_file_value_names_line_key_and_reason),
        cmocka_unit_test(test_unknown_key_refused),
        cmocka_unit_test(test_line_without_equals_refused),
        cmocka_unit_test(test_other_time_zones_refused),
        cmocka_unit_test(test_listen_values_checked),
        cmocka_unit_test(test_bad_environment_value_names_variable),
        cmocka_unit_test(test_missing_file_reports_io_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
