/* NHS number and UPN check characters (include/ehc/identifiers.h gives the rules and sources). */
#include "ehc/identifiers.h"

#include <string.h>

static const char upn_letters[] = "ABCDEFGHJKLMNPQRTUVWXYZ";

bool ehc_nhs_number_valid(const char *s)
{
    if (!s || strlen(s) != 10) return false;
    int sum = 0;
    for (int i = 0; i < 10; i++)
        if (s[i] < '0' || s[i] > '9') return false;
    for (int i = 0; i < 9; i++)
        sum += (s[i] - '0') * (10 - i);
    int check = 11 - sum % 11;
    if (check == 11) check = 0;
    return check != 10 && check == s[9] - '0';
}

static int letter_value(char c)
{
    const char *p = c ? strchr(upn_letters, c) : NULL;
    return p ? (int)(p - upn_letters) : -1;
}

bool ehc_upn_valid(const char *s)
{
    if (!s || strlen(s) != 13 || letter_value(s[0]) < 0) return false;
    int sum = 0;
    for (int i = 1; i < 13; i++) {
        int v;
        if (s[i] >= '0' && s[i] <= '9')
            v = s[i] - '0';
        else if (i == 12)
            v = letter_value(s[i]);
        else
            return false;
        if (v < 0) return false;
        sum += v * (i + 1);
    }
    return upn_letters[sum % 23] == s[0];
}
