/* The timer heap: order by instant then id, update and removal by id, the id index staying exact
 * through growth and deletion, and a long randomized run checked step by step against a sorted
 * reference array. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ehc/timerheap.h"
#include "testlib.h"

static ehc_timerheap *heap_new(void)
{
    ehc_timerheap *h;
    assert_int_equal(ehc_timerheap_new(&h), 0);
    return h;
}

static void test_pops_in_order_of_instant_then_id(void **state)
{
    ehc_timerheap *h = heap_new();
    assert_int_equal(ehc_timerheap_push(h, 7, 300), 0);
    assert_int_equal(ehc_timerheap_push(h, 3, 100), 0);
    assert_int_equal(ehc_timerheap_push(h, 9, 100), 0);
    assert_int_equal(ehc_timerheap_push(h, 1, 200), 0);
    assert_int_equal(ehc_timerheap_count(h), 4);
    ehc_timerheap_entry e;
    assert_int_equal(ehc_timerheap_peek(h, &e), 0);
    assert_int_equal(e.id, 3);
    int64_t want_ids[] = {3, 9, 1, 7}, want_due[] = {100, 100, 200, 300};
    for (int i = 0; i < 4; i++) {
        assert_int_equal(ehc_timerheap_pop(h, &e), 0);
        assert_int_equal(e.id, want_ids[i]);
        assert_int_equal(e.due_us, want_due[i]);
    }
    assert_int_equal(ehc_timerheap_pop(h, &e), EHC_ENOENT);
    assert_int_equal(ehc_timerheap_peek(h, &e), EHC_ENOENT);
    ehc_timerheap_free(h);
}

static void test_a_repeated_id_is_refused_and_changes_nothing(void **state)
{
    ehc_timerheap *h = heap_new();
    assert_int_equal(ehc_timerheap_push(h, 5, 50), 0);
    assert_int_equal(ehc_timerheap_push(h, 5, 10), EHC_ECONFLICT);
    int64_t due = 0;
    assert_true(ehc_timerheap_find(h, 5, &due));
    assert_int_equal(due, 50);
    assert_int_equal(ehc_timerheap_count(h), 1);
    ehc_timerheap_free(h);
}

static void test_update_moves_an_entry_both_ways(void **state)
{
    ehc_timerheap *h = heap_new();
    for (int64_t id = 1; id <= 100; id++)
        assert_int_equal(ehc_timerheap_push(h, id, id * 10), 0);
    assert_int_equal(ehc_timerheap_update(h, 50, 1), 0);   /* to the front */
    assert_int_equal(ehc_timerheap_update(h, 1, 5000), 0); /* to the back */
    assert_int_equal(ehc_timerheap_update(h, 1000, 5), EHC_ENOENT);
    ehc_timerheap_entry e;
    assert_int_equal(ehc_timerheap_pop(h, &e), 0);
    assert_int_equal(e.id, 50);
    assert_int_equal(ehc_timerheap_pop(h, &e), 0);
    assert_int_equal(e.id, 2);
    int64_t last = 0;
    while (ehc_timerheap_pop(h, &e) == 0)
        last = e.id;
    assert_int_equal(last, 1);
    ehc_timerheap_free(h);
}

static void test_set_adds_or_moves(void **state)
{
    ehc_timerheap *h = heap_new();
    ehc_timerheap_set(h, 42, 700);
    ehc_timerheap_set(h, 43, 600);
    ehc_timerheap_set(h, 42, 500);
    assert_int_equal(ehc_timerheap_count(h), 2);
    ehc_timerheap_entry e;
    assert_int_equal(ehc_timerheap_peek(h, &e), 0);
    assert_int_equal(e.id, 42);
    assert_int_equal(e.due_us, 500);
    ehc_timerheap_free(h);
}

static void test_remove_by_id_keeps_the_rest_in_order(void **state)
{
    ehc_timerheap *h = heap_new();
    for (int64_t id = 1; id <= 1000; id++)
        assert_int_equal(ehc_timerheap_push(h, id, (id * 7919) % 1000), 0);
    for (int64_t id = 2; id <= 1000; id += 2)
        assert_int_equal(ehc_timerheap_remove(h, id), 0);
    assert_int_equal(ehc_timerheap_remove(h, 2), EHC_ENOENT);
    assert_int_equal(ehc_timerheap_count(h), 500);
    for (int64_t id = 1; id <= 1000; id++)
        assert_int_equal(ehc_timerheap_find(h, id, NULL), id % 2 == 1);
    ehc_timerheap_entry e, prev = {INT64_MIN, INT64_MIN};
    size_t n = 0;
    while (ehc_timerheap_pop(h, &e) == 0) {
        assert_true(e.id % 2 == 1);
        assert_true(e.due_us > prev.due_us || (e.due_us == prev.due_us && e.id > prev.id));
        prev = e;
        n++;
    }
    assert_int_equal(n, 500);
    ehc_timerheap_free(h);
}

static void test_reserve_holds_a_million_in_about_24_bytes_each(void **state)
{
    ehc_timerheap *h = heap_new();
    ehc_timerheap_reserve(h, 1000000);
    for (int64_t id = 1; id <= 1000000; id++)
        assert_int_equal(ehc_timerheap_push(h, id, 1000000 - id), 0);
    /* 16 bytes of entry + 4-byte slots at most half full: 16 MiB + 8 MiB */
    assert_true(ehc_timerheap_memory_bytes(h) <= 25u * 1024 * 1024);
    ehc_timerheap_entry e;
    assert_int_equal(ehc_timerheap_pop(h, &e), 0);
    assert_int_equal(e.id, 1000000);
    ehc_timerheap_free(h);
}

/* The reference: every live entry, sorted by (due, id) on demand. */
typedef struct ref_entry {
    int64_t due, id;
} ref_entry;

static int ref_cmp(const void *a, const void *b)
{
    const ref_entry *x = a, *y = b;
    if (x->due != y->due) return x->due < y->due ? -1 : 1;
    return x->id < y->id ? -1 : x->id > y->id;
}

static uint64_t rng_state = 0x9e3779b97f4a7c15u;

static uint64_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static ptrdiff_t ref_find(const ref_entry *ref, size_t n, int64_t id)
{
    for (size_t i = 0; i < n; i++)
        if (ref[i].id == id) return (ptrdiff_t)i;
    return -1;
}

static void test_randomized_against_a_sorted_reference(void **state)
{
    ehc_timerheap *h = heap_new();
    enum { IDS = 600, STEPS = 60000 };
    ref_entry *ref = calloc(IDS, sizeof *ref);
    size_t n = 0;
    for (int step = 0; step < STEPS; step++) {
        int op = (int)(rnd() % 6);
        int64_t id = (int64_t)(rnd() % IDS) + 1;
        int64_t due = (int64_t)(rnd() % 500); /* many ties on purpose */
        ptrdiff_t at = ref_find(ref, n, id);
        switch (op) {
        case 0:
        case 1:
            assert_int_equal(ehc_timerheap_push(h, id, due), at < 0 ? 0 : EHC_ECONFLICT);
            if (at < 0) ref[n++] = (ref_entry){due, id};
            break;
        case 2:
            assert_int_equal(ehc_timerheap_update(h, id, due), at < 0 ? EHC_ENOENT : 0);
            if (at >= 0) ref[at].due = due;
            break;
        case 3:
            assert_int_equal(ehc_timerheap_remove(h, id), at < 0 ? EHC_ENOENT : 0);
            if (at >= 0) ref[at] = ref[--n];
            break;
        case 4: {
            ehc_timerheap_entry e;
            if (n == 0) {
                assert_int_equal(ehc_timerheap_pop(h, &e), EHC_ENOENT);
                break;
            }
            qsort(ref, n, sizeof *ref, ref_cmp);
            assert_int_equal(ehc_timerheap_pop(h, &e), 0);
            assert_int_equal(e.id, ref[0].id);
            assert_int_equal(e.due_us, ref[0].due);
            ref[0] = ref[--n];
            break;
        }
        default: {
            ehc_timerheap_set(h, id, due);
            if (at >= 0)
                ref[at].due = due;
            else
                ref[n++] = (ref_entry){due, id};
        }
        }
        assert_int_equal(ehc_timerheap_count(h), n);
        if (step % 997 == 0) {
            for (int64_t k = 1; k <= IDS; k++) {
                int64_t got = -1;
                ptrdiff_t r = ref_find(ref, n, k);
                assert_int_equal(ehc_timerheap_find(h, k, &got), r >= 0);
                if (r >= 0) assert_int_equal(got, ref[r].due);
            }
        }
    }
    /* drain: the whole remaining order matches */
    qsort(ref, n, sizeof *ref, ref_cmp);
    for (size_t i = 0; i < n; i++) {
        ehc_timerheap_entry e;
        assert_int_equal(ehc_timerheap_pop(h, &e), 0);
        assert_int_equal(e.id, ref[i].id);
        assert_int_equal(e.due_us, ref[i].due);
    }
    assert_int_equal(ehc_timerheap_count(h), 0);
    free(ref);
    ehc_timerheap_free(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pops_in_order_of_instant_then_id),
        cmocka_unit_test(test_a_repeated_id_is_refused_and_changes_nothing),
        cmocka_unit_test(test_update_moves_an_entry_both_ways),
        cmocka_unit_test(test_set_adds_or_moves),
        cmocka_unit_test(test_remove_by_id_keeps_the_rest_in_order),
        cmocka_unit_test(test_reserve_holds_a_million_in_about_24_bytes_each),
        cmocka_unit_test(test_randomized_against_a_sorted_reference),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
