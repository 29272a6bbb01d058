/* ehc-sample: writes a realistic authority's cases as import files (docs/import.md), from a seed, so
 * the same arguments always give the same bytes. Histories run over the five years before --today:
 * requests refused, withdrawn, assessed with advice on time and late, no plan, plans on time and
 * late (some with an exception), plans handed to annual review, reviews maintained and amended, phase
 * transfers and ceasing, and older plans already in review. Nothing is dated after --today.
 *
 *   ehc-sample --children N --seed S --today YYYY-MM-DD --out DIR */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ehc/date.h"
#include "ehc/identifiers.h"

static uint64_t rng_state;

static uint64_t next_u64(void)
{
    /* xorshift64* */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 2685821657736338717ull;
}

static int rnd(int lo, int hi) /* inclusive */
{
    return lo + (int)(next_u64() % (uint64_t)(hi - lo + 1));
}

static bool chance(int percent)
{
    return rnd(1, 100) <= percent;
}

static ehc_date today;

static ehc_date plus(ehc_date d, int days)
{
    ehc_date out;
    if (ehc_date_add_days(d, days, &out)) abort();
    return out;
}

static ehc_date plus_months(ehc_date d, int months)
{
    ehc_date out;
    if (ehc_date_add_months(d, months, &out)) abort();
    return out;
}

static ehc_date earlier(ehc_date a, ehc_date b)
{
    return a.days <= b.days ? a : b;
}

static bool past(ehc_date d) /* happened by today */
{
    return d.days <= today.days;
}

static const char *iso(ehc_date d)
{
    static char buf[32][EHC_DATE_ISO_SIZE];
    static int k;
    k = (k + 1) % 32;
    ehc_date_format_iso(d, buf[k]);
    return buf[k];
}

static const char *iso_if(bool cond, ehc_date d)
{
    return cond ? iso(d) : "";
}

static FILE *files[8];
enum { CHILDREN, REQUESTS, DECISIONS, ADVICE, EXCEPTIONS, PLANS, REVIEWS, PLACEMENTS };
static const char *const names[8] = {"children.csv",   "requests.csv", "decisions.csv", "advice.csv",
                                     "exceptions.csv", "plans.csv",    "reviews.csv",   "placements.csv"};
static const char *const headers[8] = {
    "child_ref,forename,surname,date_of_birth,sex,nhs_number,upn,postcode,primary_need,secondary_need",
    "case_ref,child_ref,received_at,channel,requested_by,closed_reason,closed_on",
    "case_ref,decision,outcome,notified_on,refusal_final_on",
    "case_ref,request_key,adviser,requested_on,received_by_adviser_on,outcome,returned_on,nil_reason",
    "case_ref,deadline,exception,request_key,applies_from,applies_to,evidence,family_told_on,recorded_on",
    "plan_ref,child_ref,case_ref,draft_served_on,issued_on,handed_to_review_on,made_after,under_five,"
    "phase_transfer,transfer_identified_on,transfer_on,cease_consultation_on,cease_decision_on,cease_ground,"
    "ceased_on,cease_reason",
    "plan_ref,arranged_on,meeting_on,invitations_sent_on,advice_circulated_on,held_on,report_sent_on,"
    "decision,"
    "decision_on,under_five,amendment_proposed_on,amended_plan_issued_on,names_next_setting",
    "plan_ref,rank,urn,ukprn,sen_setting,start_on,end_on,sen_unit,resourced_provision"};

static const char *const forenames[] = {"Amara",  "Ben",   "Chloe", "Dev",   "Ella", "Finn", "Grace",
                                        "Hassan", "Isla",  "Jack",  "Keira", "Leo",  "Maya", "Noah",
                                        "Olivia", "Priya", "Ravi",  "Sofia", "Theo", "Zara"};
static const char *const surnames[] = {"Ahmed",   "Brown", "Clarke",  "Davies", "Evans",  "Fletcher", "Green",
                                       "Hughes",  "Iqbal", "Jones",   "Khan",   "Lewis",  "Morris",   "Nowak",
                                       "O'Brien", "Patel", "Roberts", "Smith",  "Taylor", "Walker"};
static const char *const needs[] = {"ASD",  "SEMH", "SLCN", "MLD", "SPLD", "SLD",
                                    "PMLD", "HI",   "VI",   "PD",  "OTH"};
static const char *const advisers[] = {"parent_or_young_person", "school_or_college", "medical",
                                       "educational_psychologist", "social_care"};
static const char *const channels[] = {"email", "email", "hand", "first_class_post", "signed_for"};
static const char *const requesters[] = {"parent", "parent", "school_or_college", "young_person", "health"};

static void nhs_number(char out[11])
{
    for (;;) {
        int sum = 0;
        for (int i = 0; i < 9; i++) {
            out[i] = (char)('0' + rnd(i == 0 ? 4 : 0, 9));
            sum += (out[i] - '0') * (10 - i);
        }
        int check = 11 - sum % 11;
        if (check == 11) check = 0;
        if (check == 10) continue;
        out[9] = (char)('0' + check);
        out[10] = '\0';
        if (ehc_nhs_number_valid(out)) return;
    }
}

static void upn(char out[14])
{
    static const char letters[] = "ABCDEFGHJKLMNPQRTUVWXYZ";
    snprintf(out + 1, 13, "353%03d%02d%03d%d", rnd(0, 999), rnd(10, 25), rnd(0, 999), rnd(0, 9));
    int sum = 0;
    for (int i = 1; i < 13; i++)
        sum += (out[i] - '0') * (i + 1);
    out[0] = letters[sum % 23];
    out[13] = '\0';
}

/* One annual-review history from `made` (the plan made or the last decision) up to today or a
 * ceasing; returns the stage it ends in: 0 maintained (may cease), 1 mid-review or amending. */
static int reviews(const char *plan, ehc_date made, bool under_five, ehc_date *last_settled)
{
    ehc_date anchor = made;
    *last_settled = made;
    for (;;) {
        ehc_date meeting = plus(plus_months(anchor, 11), rnd(-20, 20));
        ehc_date arranged = plus(meeting, -rnd(28, 50));
        if (!past(arranged)) return 0;
        bool late_invites = chance(20);
        ehc_date invites = plus(meeting, late_invites ? -rnd(3, 13) : -rnd(14, 24));
        ehc_date circulated = plus(meeting, chance(25) ? -rnd(2, 13) : -rnd(14, 20));
        if (invites.days < arranged.days) invites = arranged;
        if (circulated.days < arranged.days) circulated = arranged;
        ehc_date report = plus(meeting, chance(30) ? rnd(15, 30) : rnd(3, 14));
        ehc_date decision_on = plus(meeting, chance(40) ? rnd(29, 60) : rnd(7, 28));
        bool amend = chance(55);
        ehc_date proposed = decision_on;
        ehc_date amended = plus(proposed, chance(30) ? rnd(57, 90) : rnd(15, 56));
        bool names_next = chance(30);
        fprintf(files[REVIEWS], "%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s\n", plan, iso(arranged), iso(meeting),
                iso_if(past(invites), invites), iso_if(past(circulated), circulated),
                iso_if(past(meeting), meeting), iso_if(past(meeting) && past(report), report),
                past(meeting) && past(decision_on) ? (amend ? "amend" : "maintain") : "",
                iso_if(past(meeting) && past(decision_on), decision_on), under_five ? "true" : "false",
                iso_if(amend && past(meeting) && past(proposed), proposed),
                iso_if(amend && past(meeting) && past(amended), amended),
                amend && past(amended) && names_next ? "true" : "false");
        if (!past(meeting) || !past(decision_on)) return 1;
        if (amend && !past(amended)) return 1;
        anchor = decision_on;
        *last_settled = amend ? amended : decision_on;
        under_five = false;
    }
}

static void plan_row(const char *plan, const char *child, const char *kase, ehc_date draft, ehc_date issued,
                     bool handed, ehc_date handed_on, bool under_five)
{
    ehc_date settled;
    int open = handed || !*kase ? reviews(plan, issued, under_five, &settled) : 1;
    char transfer[200] = ",,";
    char cease[200] = ",,,,";
    if ((handed || !*kase) && open == 0) {
        if (chance(12)) {
            ehc_date identified = plus(settled, rnd(1, 60));
            if (past(identified)) {
                ehc_date sept;
                int y, m, d;
                ehc_date_to_ymd(identified, &y, &m, &d);
                if (ehc_date_from_ymd(y + (m >= 3 ? 1 : 0), 9, 1, &sept)) abort();
                snprintf(transfer, sizeof transfer, "%s,%s,%s",
                         chance(70) ? "school_phase" : "secondary_to_post16", iso(identified), iso(sept));
            }
        } else if (chance(8)) {
            ehc_date consult = plus(settled, rnd(5, 90));
            ehc_date decided = plus(consult, rnd(14, 35));
            ehc_date ceased = plus(plus_months(decided, 4), rnd(1, 25));
            static const char *const reasons[] = {"1", "2", "2", "3", "4", "6", "7", "9"};
            if (past(consult))
                snprintf(cease, sizeof cease, "%s,%s,%s,%s,%s", iso(consult), iso_if(past(decided), decided),
                         past(decided) ? "no_longer_necessary" : "", iso_if(past(ceased), ceased),
                         past(ceased) ? reasons[rnd(0, 7)] : "");
        }
    }
    fprintf(files[PLANS], "%s,%s,%s,%s,%s,%s,%s,%s,%s,%s\n", plan, child, kase, *kase ? iso(draft) : "",
            iso(issued), iso_if(handed, handed_on), *kase ? "assessment" : "other",
            under_five ? "true" : "false", transfer, cease);
    if (*kase) { /* recorded on the case that made the plan */
        fprintf(files[PLACEMENTS], "%s,1,%06d,,,%s,,%s,false\n", plan, rnd(100000, 149999), iso(issued),
                chance(10) ? "true" : "false");
        if (chance(15))
            fprintf(files[PLACEMENTS], "%s,2,,,%s,%s,,false,false\n", plan, chance(50) ? "OLA" : "EHE",
                    iso(earlier(plus(issued, rnd(30, 200)), today)));
    }
}

/* One assessment case from its request to wherever it stands today. */
static void assessment(const char *kase, const char *child, int age, ehc_date received)
{
    int ch = rnd(0, 4);
    fprintf(files[REQUESTS], "%s,%s,%sT%02d:%02d,%s,%s,", kase, child, iso(received), rnd(8, 18), rnd(0, 59),
            channels[ch], requesters[rnd(0, 4)]);
    ehc_date decision = plus(received, chance(15) ? rnd(43, 70) : rnd(14, 42));
    if (chance(3) && past(plus(received, 10))) { /* withdrawn before the decision */
        fprintf(files[REQUESTS], "withdrawn,%s\n", iso(plus(received, 10)));
        return;
    }
    if (!past(decision)) {
        fprintf(files[REQUESTS], ",\n");
        return;
    }
    if (chance(25)) { /* refused */
        fprintf(files[REQUESTS], ",\n");
        ehc_date final = plus(plus_months(decision, 4), rnd(1, 30));
        fprintf(files[DECISIONS], "%s,assess,no,%s,%s\n", kase, iso(decision), iso_if(past(final), final));
        return;
    }
    fprintf(files[DECISIONS], "%s,assess,yes,%s,\n", kase, iso(decision));
    bool withdrawn = chance(2);
    ehc_date withdrawn_on = plus(decision, rnd(7, 40));
    fprintf(files[REQUESTS], "%s,%s\n", withdrawn && past(withdrawn_on) ? "withdrawn" : "",
            iso_if(withdrawn && past(withdrawn_on), withdrawn_on));
    ehc_date issue_decision = plus(received, chance(25) ? rnd(113, 150) : rnd(84, 112));
    if (issue_decision.days < decision.days + 7) issue_decision = plus(decision, 7);
    int n = rnd(3, 5);
    ehc_date last_return = decision;
    for (int a = 0; a < n; a++) {
        ehc_date got = earlier(plus(decision, rnd(0, 3)), today);
        ehc_date back = plus(got, chance(30) ? rnd(43, 80) : rnd(14, 42));
        bool nil = a == 4 && chance(30);
        if (withdrawn && back.days >= withdrawn_on.days) back = plus(withdrawn_on, 1);
        if (past(issue_decision) && back.days > issue_decision.days)
            back = issue_decision; /* all in by then */
        bool returned = past(back) && !(withdrawn && back.days > withdrawn_on.days);
        fprintf(files[ADVICE], "%s,adv-%d,%s,%s,%s,%s,%s,%s\n", kase, a + 1, advisers[a], iso(decision),
                iso(got), returned ? (nil ? "nil_return" : "returned") : "", iso_if(returned, back),
                returned && nil ? "no_current_involvement" : "");
        if (back.days > last_return.days) last_return = back;
    }
    if (withdrawn) return;
    bool exception = chance(6);
    ehc_date exc_on = plus(decision, rnd(5, 20));
    if (exception && past(exc_on) && exc_on.days < issue_decision.days)
        fprintf(files[EXCEPTIONS],
                "%s,final_plan_due,reg_13_3_c,,%s,%s,\"Family abroad, letter on file\",%s,%s\n", kase,
                iso(plus(exc_on, -5)), iso(plus(exc_on, 20)), iso(exc_on), iso(exc_on));
    if (!past(issue_decision)) return;
    if (chance(12)) { /* no plan */
        ehc_date final = plus(plus_months(issue_decision, 4), rnd(1, 30));
        fprintf(files[DECISIONS], "%s,issue,no,%s,%s\n", kase, iso(issue_decision),
                iso_if(past(final), final));
        return;
    }
    fprintf(files[DECISIONS], "%s,issue,yes,%s,\n", kase, iso(issue_decision));
    ehc_date draft = plus(issue_decision, rnd(1, 10));
    ehc_date issued = plus(draft, chance(30) ? rnd(30, 70) : rnd(15, 29));
    if (!past(draft) || !past(issued)) return; /* still drafting: no plans row yet */
    ehc_date handed = plus(plus_months(issued, 4), rnd(1, 20));
    char plan[32];
    snprintf(plan, sizeof plan, "P-%s", kase + 2);
    plan_row(plan, child, kase, draft, issued, past(handed), handed, age < 5);
}

int main(int argc, char **argv)
{
    long children = 500;
    uint64_t seed = 1;
    const char *out = NULL, *today_text = NULL;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--children") == 0)
            children = strtol(argv[i + 1], NULL, 10);
        else if (strcmp(argv[i], "--seed") == 0)
            seed = strtoull(argv[i + 1], NULL, 10);
        else if (strcmp(argv[i], "--out") == 0)
            out = argv[i + 1];
        else if (strcmp(argv[i], "--today") == 0)
            today_text = argv[i + 1];
    }
    if (!out || !today_text || ehc_date_parse_iso(today_text, &today) || children < 1 || children > 1000000) {
        fprintf(stderr, "usage: ehc-sample --children N --seed S --today YYYY-MM-DD --out DIR\n");
        return 2;
    }
    rng_state = seed * 0x9E3779B97F4A7C15ull + 0x2545F4914F6CDD1Dull;
    if (mkdir(out, 0755) && errno != EEXIST) {
        perror(out);
        return 1;
    }
    for (int f = 0; f < 8; f++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", out, names[f]);
        files[f] = fopen(path, "w");
        if (!files[f]) {
            perror(path);
            return 1;
        }
        fprintf(files[f], "%s\n", headers[f]);
    }
    for (long i = 1; i <= children; i++) {
        char child[16], nhs[11], pupil[14];
        snprintf(child, sizeof child, "C%06ld", i);
        ehc_date received = plus(today, -rnd(1, 5 * 365));
        bool legacy = chance(35);
        ehc_date issued = plus(today, -rnd(60, 5 * 365));
        int age = rnd(1, 19);
        ehc_date dob = plus(legacy ? issued : received, -(age * 365 + rnd(0, 364)));
        nhs_number(nhs);
        upn(pupil);
        int need = rnd(0, 10);
        fprintf(files[CHILDREN], "%s,%s,%s,%s,%s,%s,%s,OL%d %d%c%c,%s,%s\n", child, forenames[rnd(0, 19)],
                surnames[rnd(0, 19)], iso(dob), chance(65) ? "M" : "F", chance(90) ? nhs : "",
                age >= 4 ? pupil : "", rnd(1, 16), rnd(1, 9), 'A' + rnd(0, 25), 'A' + rnd(0, 25), needs[need],
                chance(30) ? needs[(need + 1) % 11] : "");
        if (legacy) {
            char plan[32];
            snprintf(plan, sizeof plan, "P-L%06ld", i);
            plan_row(plan, child, "", issued, issued, false, issued, age < 5);
        } else {
            char kase[32];
            snprintf(kase, sizeof kase, "R-%06ld", i);
            assessment(kase, child, age, received);
        }
    }
    for (int f = 0; f < 8; f++)
        if (fclose(files[f])) {
            perror(names[f]);
            return 1;
        }
    return 0;
}
