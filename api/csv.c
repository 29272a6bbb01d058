/* CSV for the reports' downloads (RFC 4180): one cell at a time into a growing text. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "ehc/api.h"

void ehc_api_csv_cell(char **buf, size_t *len, size_t *cap, const cJSON *v)
{
    if (cJSON_IsNumber(v)) {
        if (v->valuedouble == (double)(int64_t)v->valuedouble)
            ehc_text_printf(buf, len, cap, "%" PRId64, (int64_t)v->valuedouble);
        else
            ehc_text_printf(buf, len, cap, "%.1f", v->valuedouble);
        return;
    }
    const char *s = cJSON_GetStringValue(v);
    if (!s) return; /* no value: an empty cell */
    /* quoted when it holds a comma, quote or line break, or would start a formula in a spreadsheet
     * (then also prefixed with an apostrophe) */
    bool formula = s[0] && strchr("=+-@", s[0]);
    if (!formula && !s[strcspn(s, ",\"\r\n")]) {
        ehc_text_append(buf, len, cap, s, strlen(s));
        return;
    }
    ehc_text_append(buf, len, cap, formula ? "\"'" : "\"", formula ? 2 : 1);
    for (const char *p = s; *p; p++)
        ehc_text_append(buf, len, cap, *p == '"' ? "\"\"" : p, *p == '"' ? 2 : 1);
    ehc_text_append(buf, len, cap, "\"", 1);
}
