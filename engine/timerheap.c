/* The scheduler's in-memory min-heap of fire instants, with an id -> position index so the store's
 * changes (a deadline met, moved or cancelled) can update or drop an entry in O(log n). The index is
 * open addressing with linear probing over 32-bit heap positions (+1; 0 is empty), at most half full;
 * a key is read from the heap entry it points to, so the index stores no ids of its own. Removal
 * shifts later entries of a probe run back (no tombstones). Sifting moves a "hole" rather than
 * swapping, and updates the index once per moved entry. */
#include "ehc/timerheap.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

struct ehc_timerheap {
    ehc_timerheap_entry *items;
    size_t count, cap;
    uint32_t *slots; /* heap position + 1, or 0 for an empty slot */
    size_t slot_mask;
};

#define EMPTY_SLOT 0u

static size_t hash_id(int64_t id)
{
    uint64_t x = (uint64_t)id;
    x ^= x >> 30;
    x *= UINT64_C(0xbf58476d1ce4e5b9);
    x ^= x >> 27;
    x *= UINT64_C(0x94d049bb133111eb);
    x ^= x >> 31;
    return (size_t)x;
}

static bool before(const ehc_timerheap_entry *a, const ehc_timerheap_entry *b)
{
    return a->due_us < b->due_us || (a->due_us == b->due_us && a->id < b->id);
}

/* The slot holding id, or the empty slot where it would go. */
static size_t find_slot(const ehc_timerheap *h, int64_t id)
{
    size_t i = hash_id(id) & h->slot_mask;
    while (h->slots[i] != EMPTY_SLOT && h->items[h->slots[i] - 1].id != id)
        i = (i + 1) & h->slot_mask;
    return i;
}

static void rehash(ehc_timerheap *h, size_t slot_count)
{
    free(h->slots);
    h->slots = ehc_calloc(slot_count, sizeof *h->slots);
    h->slot_mask = slot_count - 1;
    for (size_t p = 0; p < h->count; p++)
        h->slots[find_slot(h, h->items[p].id)] = (uint32_t)(p + 1);
}

void ehc_timerheap_reserve(ehc_timerheap *h, size_t count)
{
    assert(count < UINT32_MAX / 2);
    if (count > h->cap) {
        h->items = ehc_realloc(h->items, count * sizeof *h->items);
        h->cap = count;
    }
    size_t slots = h->slot_mask + 1;
    if (count * 2 > slots) {
        while (count * 2 > slots)
            slots *= 2;
        rehash(h, slots);
    }
}

int ehc_timerheap_new(ehc_timerheap **out)
{
    ehc_timerheap *h = ehc_calloc(1, sizeof *h);
    h->slot_mask = 15;
    h->slots = ehc_calloc(h->slot_mask + 1, sizeof *h->slots);
    *out = h;
    return 0;
}

void ehc_timerheap_free(ehc_timerheap *h)
{
    if (!h) return;
    free(h->items);
    free(h->slots);
    free(h);
}

/* Writes e at position p and points its index slot there. */
static void place(ehc_timerheap *h, size_t p, ehc_timerheap_entry e, size_t slot)
{
    h->items[p] = e;
    h->slots[slot] = (uint32_t)(p + 1);
}

/* Moves the entry at position from to position to (the hole). Each entry moves at most once per
 * sift, so the probe here never meets a stale slot that could match its id. */
static void move(ehc_timerheap *h, size_t from, size_t to)
{
    place(h, to, h->items[from], find_slot(h, h->items[from].id));
}

/* Puts e (whose index slot is `slot`) into the hole at p, restoring the heap order. */
static void sift(ehc_timerheap *h, size_t p, ehc_timerheap_entry e, size_t slot)
{
    while (p > 0) {
        size_t parent = (p - 1) / 2;
        if (!before(&e, &h->items[parent])) break;
        move(h, parent, p);
        p = parent;
    }
    for (;;) {
        size_t child = 2 * p + 1;
        if (child >= h->count) break;
        if (child + 1 < h->count && before(&h->items[child + 1], &h->items[child])) child++;
        if (!before(&h->items[child], &e)) break;
        move(h, child, p);
        p = child;
    }
    place(h, p, e, slot);
}

static void index_delete(ehc_timerheap *h, size_t i)
{
    h->slots[i] = EMPTY_SLOT;
    size_t j = i;
    for (;;) {
        j = (j + 1) & h->slot_mask;
        if (h->slots[j] == EMPTY_SLOT) return;
        size_t home = hash_id(h->items[h->slots[j] - 1].id) & h->slot_mask;
        /* j's entry may fill the gap at i only when its home is not cyclically within (i, j] */
        bool stays = i <= j ? (home > i && home <= j) : (home > i || home <= j);
        if (stays) continue;
        h->slots[i] = h->slots[j];
        h->slots[j] = EMPTY_SLOT;
        i = j;
    }
}

static void remove_at(ehc_timerheap *h, size_t p, size_t slot)
{
    index_delete(h, slot);
    h->count--;
    if (p == h->count) return;
    ehc_timerheap_entry last = h->items[h->count];
    sift(h, p, last, find_slot(h, last.id));
}

int ehc_timerheap_push(ehc_timerheap *h, int64_t id, int64_t due_us)
{
    size_t slot = find_slot(h, id);
    if (h->slots[slot] != EMPTY_SLOT) return EHC_ECONFLICT;
    if (h->count == h->cap || (h->count + 1) * 2 > h->slot_mask + 1) {
        ehc_timerheap_reserve(h, h->count < 16 ? 32 : h->count * 2);
        slot = find_slot(h, id);
    }
    ehc_timerheap_entry e = {.due_us = due_us, .id = id};
    h->count++;
    sift(h, h->count - 1, e, slot);
    return 0;
}

int ehc_timerheap_update(ehc_timerheap *h, int64_t id, int64_t due_us)
{
    size_t slot = find_slot(h, id);
    if (h->slots[slot] == EMPTY_SLOT) return EHC_ENOENT;
    size_t p = h->slots[slot] - 1;
    ehc_timerheap_entry e = {.due_us = due_us, .id = id};
    sift(h, p, e, slot);
    return 0;
}

void ehc_timerheap_set(ehc_timerheap *h, int64_t id, int64_t due_us)
{
    if (ehc_timerheap_update(h, id, due_us) == EHC_ENOENT) {
        int rc = ehc_timerheap_push(h, id, due_us);
        assert(rc == 0);
        (void)rc;
    }
}

int ehc_timerheap_remove(ehc_timerheap *h, int64_t id)
{
    size_t slot = find_slot(h, id);
    if (h->slots[slot] == EMPTY_SLOT) return EHC_ENOENT;
    remove_at(h, h->slots[slot] - 1, slot);
    return 0;
}

int ehc_timerheap_peek(const ehc_timerheap *h, ehc_timerheap_entry *out)
{
    if (h->count == 0) return EHC_ENOENT;
    *out = h->items[0];
    return 0;
}

int ehc_timerheap_pop(ehc_timerheap *h, ehc_timerheap_entry *out)
{
    if (h->count == 0) return EHC_ENOENT;
    *out = h->items[0];
    remove_at(h, 0, find_slot(h, out->id));
    return 0;
}

bool ehc_timerheap_find(const ehc_timerheap *h, int64_t id, int64_t *due_us)
{
    size_t slot = find_slot(h, id);
    if (h->slots[slot] == EMPTY_SLOT) return false;
    if (due_us) *due_us = h->items[h->slots[slot] - 1].due_us;
    return true;
}

size_t ehc_timerheap_count(const ehc_timerheap *h)
{
    return h->count;
}

size_t ehc_timerheap_memory_bytes(const ehc_timerheap *h)
{
    return sizeof *h + h->cap * sizeof *h->items + (h->slot_mask + 1) * sizeof *h->slots;
}
