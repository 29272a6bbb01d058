/* Letter templates (engine/notices.c), their PDF (engine/pdf.c) and the letter_sent event
 * (engine/machine.c): the shipped templates load; a template an authority edited to drop an item the
 * law requires still names that item as missing; an unfilled value is missing; a broken template is
 * refused at load naming the file; the PDF is a PDF whose text pdftotext reads back (Unicode
 * included); letter_sent's served date must be the deemed date of receipt (statute notes s1). */
#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ehc/notices.h"
#include "ehc/pdf.h"
#include "law_fixture.h"

static char notices_dir[1024];

static cJSON *full_values(void)
{
    cJSON *v = cJSON_CreateObject();
    static const char *const items[][2] = {
        {"authority_name", "Oldham Council"},
        {"case_reference", "EHC-353-0001"},
        {"child_name", "Zoë Ångström-Łukasz"},
        {"child_date_of_birth", "Thursday 11 April 2019"},
        {"letter_date", "Monday 8 June 2026"},
        {"recipient_name", "Ms Ewa Łukasz"},
        {"officer_name", "Sam Officer"},
        {"reasons", "The school can meet the needs from its own resources."},
        {"la_contact", "the SEN Team, 0161 770 0000"},
        {"ias_contact", "Oldham SENDIASS, 0161 503 1333"},
        {"mediation_adviser_contact", "Global Mediation, 0800 064 4488"},
    };
    for (size_t i = 0; i < sizeof items / sizeof items[0]; i++)
        cJSON_AddStringToObject(v, items[i][0], items[i][1]);
    return v;
}

static void copy_file(const char *from, const char *to, const char *drop_from, const char *drop_to)
{
    FILE *in = fopen(from, "rb");
    assert_non_null(in);
    static char buf[1 << 18];
    size_t n = fread(buf, 1, sizeof buf - 1, in);
    fclose(in);
    buf[n] = '\0';
    if (drop_from) { /* an authority's edit: replace one text by another */
        char *at = strstr(buf, drop_from);
        assert_non_null(at);
        size_t a = strlen(drop_from), b = strlen(drop_to);
        memmove(at + b, at + a, strlen(at + a) + 1);
        memcpy(at, drop_to, b);
    }
    FILE *out = fopen(to, "wb");
    assert_non_null(out);
    fputs(buf, out);
    fclose(out);
}

static void test_shipped_templates_load_and_fill(void **state)
{
    snprintf(notices_dir, sizeof notices_dir, "%s/notices", law_source_dir());
    ehc_notices *set;
    ehc_load_error err = {0};
    assert_int_equal(ehc_notices_load(notices_dir, &set, &err), 0);
    assert_int_equal(ehc_notices_count(set), 11);
    assert_null(ehc_notices_find(set, "mediation")); /* a part, never sent alone */
    const ehc_notice *n = ehc_notices_find(set, "decision_not_to_assess");
    assert_non_null(n);
    assert_true(ehc_notice_for_workflow(n, "ehc-needs-assessment"));
    assert_false(ehc_notice_for_recipient(n, "icb"));
    assert_int_equal(strlen(ehc_notice_sha256(n)), 64);
    assert_string_equal(ehc_notice_serves(ehc_notices_find(set, "draft_plan")), "draft_served");
    assert_string_equal(ehc_notice_notifies(ehc_notices_find(set, "no_plan")), "decision_to_issue");
    assert_string_equal(ehc_notice_notifies(ehc_notices_find(set, "amendment_notice")), "amendment_proposed");
    assert_null(ehc_notice_notifies(ehc_notices_find(set, "advice_request")));
    cJSON *values = full_values();
    ehc_letter_text t;
    assert_int_equal(ehc_notice_fill(set, n, values, &t), 0);
    if (t.missing_count) fail_msg("missing %s", t.missing[0]);
    /* the Reg 32 block is part of the letter, filled */
    bool mediation = false;
    for (size_t i = 0; i < t.paragraph_count; i++) {
        assert_null(strstr(t.paragraphs[i], "{{"));
        mediation |= strstr(t.paragraphs[i], "Mediation adviser: Global Mediation, 0800 064 4488") != NULL;
    }
    assert_true(mediation);
    assert_string_equal(cJSON_GetObjectItem(t.items, "reasons")->valuestring,
                        "The school can meet the needs from its own resources.");
    ehc_letter_text_free(&t);
    /* a value the case lacks (blank counts as absent) */
    cJSON_ReplaceItemInObject(values, "reasons", cJSON_CreateString("   "));
    cJSON_DeleteItemFromObject(values, "mediation_adviser_contact");
    assert_int_equal(ehc_notice_fill(set, n, values, &t), 0);
    assert_int_equal(t.missing_count, 2);
    assert_string_equal(t.missing[0], "reasons");
    assert_string_equal(t.missing[1], "mediation_adviser_contact");
    ehc_letter_text_free(&t);
    cJSON_Delete(values);
    ehc_notices_free(set);
}

static void test_an_edited_template_that_drops_a_required_item_cannot_be_sent(void **state)
{
    char dir[] = "/tmp/ehc-notices-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char from[1200], to[1200];
    snprintf(notices_dir, sizeof notices_dir, "%s/notices", law_source_dir());
    snprintf(from, sizeof from, "%s/mediation.json", notices_dir);
    snprintf(to, sizeof to, "%s/mediation.json", dir);
    copy_file(from, to, NULL, NULL);
    /* the authority removes the right of appeal from the refusal, from its body and its list */
    snprintf(from, sizeof from, "%s/decision_not_to_assess.json", notices_dir);
    snprintf(to, sizeof to, "%s/decision_not_to_assess.json", dir);
    copy_file(from, to, "    \"{{right_to_appeal}}\",\n", "");
    char edited[1300];
    snprintf(edited, sizeof edited, "%s.tmp", to);
    copy_file(to, edited, "    {\"item\": \"right_to_appeal\"", "    {\"item\": \"letter_date\"");
    assert_int_equal(rename(edited, to), 0);
    ehc_notices *set;
    ehc_load_error err = {0};
    assert_int_equal(ehc_notices_load(dir, &set, &err), 0);
    cJSON *values = full_values();
    ehc_letter_text t;
    assert_int_equal(ehc_notice_fill(set, ehc_notices_find(set, "decision_not_to_assess"), values, &t), 0);
    assert_int_equal(t.missing_count, 1);
    assert_string_equal(t.missing[0], "right_to_appeal");
    ehc_letter_text_free(&t);
    cJSON_Delete(values);
    ehc_notices_free(set);
    /* checked against the workflows: a "serves" event no workflow of the notice has is refused */
    char wfdir[1100];
    snprintf(wfdir, sizeof wfdir, "%s/workflows", law_source_dir());
    ehc_definitions *defs;
    assert_int_equal(ehc_definitions_load(wfdir, &defs, &err), 0);
    assert_int_equal(ehc_notices_load(notices_dir, &set, &err), 0);
    assert_int_equal(ehc_notices_check(set, defs, &err), 0); /* the shipped ones */
    ehc_notices_free(set);
    char draft_from[1200], draft_to[1200];
    snprintf(draft_from, sizeof draft_from, "%s/draft_plan.json", notices_dir);
    snprintf(draft_to, sizeof draft_to, "%s/draft_plan.json", dir);
    copy_file(draft_from, draft_to, "\"serves\": \"draft_served\"", "\"serves\": \"draft_delivered\"");
    assert_int_equal(ehc_notices_load(dir, &set, &err), 0);
    assert_int_equal(ehc_notices_check(set, defs, &err), EHC_EINVAL);
    assert_string_equal(err.path, "serves");
    assert_non_null(strstr(err.reason, "draft_delivered"));
    ehc_notices_free(set);
    ehc_definitions_free(defs);
    unlink(draft_to);
    /* a broken placeholder is refused at load, naming the file */
    copy_file(from, to, "{{reasons}}", "{{reasons}");
    assert_int_equal(ehc_notices_load(dir, &set, &err), EHC_EINVAL);
    assert_non_null(strstr(err.file, "decision_not_to_assess.json"));
    /* an unknown key too */
    copy_file(from, to, "\"title\":", "\"titel\": \"x\", \"title\":");
    assert_int_equal(ehc_notices_load(dir, &set, &err), EHC_EINVAL);
    assert_non_null(strstr(err.reason, "titel"));
    unlink(to);
    snprintf(to, sizeof to, "%s/mediation.json", dir);
    unlink(to);
    rmdir(dir);
}

static void test_the_pdf_is_a_pdf_with_the_text(void **state)
{
    const char *paragraphs[60];
    char long_para[3000] = "";
    for (int i = 0; i < 40; i++)
        strcat(long_para, "Section I names the school. ");
    for (int i = 0; i < 60; i++)
        paragraphs[i] = i == 1 ? "Zoë Ångström-Łukasz, date of birth Thursday 11 April 2019" : long_para;
    char *pdf;
    size_t len;
    assert_int_equal(
        ehc_pdf_render("Decision not to carry out an EHC needs assessment", paragraphs, 60, &pdf, &len), 0);
    assert_true(len > 1000);
    assert_memory_equal(pdf, "%PDF-", 5);
    char file[] = "/tmp/ehc-pdf-XXXXXX";
    int fd = mkstemp(file);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, pdf, len), (ssize_t)len);
    close(fd);
    free(pdf);
    char cmd[256];
    snprintf(cmd, sizeof cmd, "pdfinfo %s | grep -E '^Pages:' ; pdftotext -enc UTF-8 %s - | tr '\\n' ' '",
             file, file);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    static char out[1 << 18];
    size_t n = fread(out, 1, sizeof out - 1, p);
    out[n] = '\0';
    assert_int_equal(pclose(p), 0);
    unlink(file);
    assert_non_null(strstr(out, "Zoë Ångström-Łukasz, date of birth Thursday 11 April 2019"));
    assert_non_null(strstr(out, "Decision not to carry out an EHC needs assessment"));
    int pages = 0;
    assert_int_equal(sscanf(strstr(out, "Pages:"), "Pages: %d", &pages), 1);
    assert_true(pages >= 3); /* 60 long paragraphs flow over several A4 pages */
    assert_non_null(strstr(out, "Page 2"));
}

/* letter_sent: in the log, no clock moved, served_on checked against deemed receipt. */
static void test_letter_sent_is_a_native_event_with_the_deemed_date(void **state)
{
    law_fixture *f = law_fixture_load("ehc-needs-assessment.json", "2026-06-30");
    *state = f;
    LAW_OK(f, "request_received", "officer", NULL, "requested_by", "parent", "channel", "email",
           "received_at", "2026-06-08T09:00");
    size_t clocks = f->state.deadline_count;
    /* emailed at 17:30 on Friday 12 June 2026: deemed received Monday 15 June */
    LAW_REFUSED(f, EHC_EINVAL, EHC_MACHINE_E_FIELD_INVALID, EHC_MACHINE_LETTER_SENT, "officer", "2026-06-12",
                "letter_id", "7", "notice", "notification_considering", "recipient", "icb", "method", "email",
                "sent_at", "2026-06-12T17:30", "served_on", "2026-06-12");
    assert_non_null(strstr(f->err.message, "deemed received on 2026-06-15"));
    LAW_OK(f, EHC_MACHINE_LETTER_SENT, "officer", "2026-06-12", "letter_id", "7", "notice",
           "notification_considering", "recipient", "icb", "method", "email", "sent_at", "2026-06-12T17:30",
           "served_on", "2026-06-15");
    assert_int_equal(f->state.deadline_count, clocks);
    assert_string_equal(f->state.events[f->state.event_count - 1].type, "letter_sent");
    /* first-class post on Friday 26 June 2026: the next working day is Monday 29 June */
    LAW_OK(f, EHC_MACHINE_LETTER_SENT, "manager", "2026-06-26", "letter_id", "8", "notice",
           "decision_to_assess", "recipient", "parent", "method", "first_class_post", "sent_at",
           "2026-06-26T10:00", "served_on", "2026-06-29");
    /* the effective date is the day sent; a DCO may not record it; unknown fields are refused */
    LAW_REFUSED(f, EHC_EINVAL, EHC_MACHINE_E_FIELD_INVALID, EHC_MACHINE_LETTER_SENT, "officer", "2026-06-13",
                "letter_id", "7", "notice", "n", "recipient", "icb", "method", "hand", "sent_at",
                "2026-06-12T10:00", "served_on", "2026-06-12");
    LAW_REFUSED(f, EHC_EFORBIDDEN, EHC_MACHINE_E_ROLE_FORBIDDEN, EHC_MACHINE_LETTER_SENT, "dco", "2026-06-12",
                "letter_id", "7", "notice", "n", "recipient", "icb", "method", "hand", "sent_at",
                "2026-06-12T10:00", "served_on", "2026-06-12");
    LAW_REFUSED(f, EHC_EINVAL, EHC_MACHINE_E_FIELD_UNKNOWN, EHC_MACHINE_LETTER_SENT, "officer", "2026-06-12",
                "letter_id", "7", "notice", "n", "recipient", "icb", "method", "hand", "sent_at",
                "2026-06-12T10:00", "served_on", "2026-06-12", "colour", "red");
    /* the state (with its native records) round-trips through JSON */
    char *json = ehc_case_state_to_json(f->wf, &f->state);
    ehc_case_state back;
    char why[256];
    if (ehc_case_state_from_json(f->wf, json, &back, why) != 0) fail_msg("%s", why);
    assert_string_equal(back.events[back.event_count - 1].type, "letter_sent");
    ehc_case_state_free(&back);
    free(json);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shipped_templates_load_and_fill),
        cmocka_unit_test(test_an_edited_template_that_drops_a_required_item_cannot_be_sent),
        cmocka_unit_test(test_the_pdf_is_a_pdf_with_the_text),
        cmocka_unit_test_teardown(test_letter_sent_is_a_native_event_with_the_deemed_date,
                                  law_fixture_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
