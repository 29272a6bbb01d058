/* The national identifiers of a child, checked where they enter (the API, the import): the NHS
 * number's modulus 11 check digit and the UPN's check letter. The database checks the same rules
 * (sql/0003) so that nothing can slip past either. */
#ifndef EHC_IDENTIFIERS_H
#define EHC_IDENTIFIERS_H

#include <stdbool.h>

/* 10 digits, the 10th the modulus 11 check digit of the first 9 (weights 10..2; 11 -> 0; 10 never
 * valid). NHS Data Dictionary, "NHS Number". */
bool ehc_nhs_number_valid(const char *s);

/* 13 characters: a check letter, then 11 digits, then a digit or (temporary UPN) a letter; the check
 * letter is sum(value x position) over positions 2..13, mod 23, in ABCDEFGHJKLMNPQRTUVWXYZ. DfE
 * "Unique pupil numbers (UPNs)". */
bool ehc_upn_valid(const char *s);

#endif
