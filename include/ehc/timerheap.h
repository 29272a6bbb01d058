/* A binary min-heap of pending fire instants {due_us, id}, the in-memory cache of the deadlines
 * table's next_fire_at (architecture principle 4). No allocation per entry: the heap is one array of
 * 16-byte entries (1,000,000 entries: 16 MiB) and an open-addressing index from id to heap position
 * (4 bytes per slot, at most half full), so an entry can be found, moved or removed by id in
 * O(log n). Ids are unique; ties on due_us are broken by id, so the order is deterministic.
 * Owner: whoever calls ehc_timerheap_new; not thread-safe (it lives on the loop thread). */
#ifndef EHC_TIMERHEAP_H
#define EHC_TIMERHEAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ehc/common.h"

typedef struct ehc_timerheap_entry {
    int64_t due_us; /* the instant, microseconds since the epoch (UTC) */
    int64_t id;     /* deadlines.id */
} ehc_timerheap_entry;

typedef struct ehc_timerheap ehc_timerheap;

EHC_MUST_USE int ehc_timerheap_new(ehc_timerheap **out);
void ehc_timerheap_free(ehc_timerheap *heap);

/* Makes room for `count` entries in all, so a bulk load does not grow the arrays step by step. */
void ehc_timerheap_reserve(ehc_timerheap *heap, size_t count);

/* Adds an entry; EHC_ECONFLICT when the id is already there (nothing changes). */
EHC_MUST_USE int ehc_timerheap_push(ehc_timerheap *heap, int64_t id, int64_t due_us);
/* Moves an existing entry to a new instant; EHC_ENOENT when the id is not there. */
EHC_MUST_USE int ehc_timerheap_update(ehc_timerheap *heap, int64_t id, int64_t due_us);
/* Adds the entry, or moves it when the id is already there. */
void ehc_timerheap_set(ehc_timerheap *heap, int64_t id, int64_t due_us);
/* Removes an entry by id; EHC_ENOENT when it is not there. */
EHC_MUST_USE int ehc_timerheap_remove(ehc_timerheap *heap, int64_t id);

/* The earliest entry (ties: the smaller id), left in place / taken out. EHC_ENOENT when empty. */
EHC_MUST_USE int ehc_timerheap_peek(const ehc_timerheap *heap, ehc_timerheap_entry *out);
EHC_MUST_USE int ehc_timerheap_pop(ehc_timerheap *heap, ehc_timerheap_entry *out);

/* Whether the id is there; *due_us (may be NULL) receives its instant. */
bool ehc_timerheap_find(const ehc_timerheap *heap, int64_t id, int64_t *due_us);
size_t ehc_timerheap_count(const ehc_timerheap *heap);
/* Bytes held by the arrays (for the benchmark's memory-per-deadline figure). */
size_t ehc_timerheap_memory_bytes(const ehc_timerheap *heap);

#endif
