/*
 * llr_ipc.h — the LowLatencyRisk shared-memory layout for C and C++ peers (C11).
 *
 * The ring file header mirrors src/LowLatencyRisk.Ipc/Layout/RingHeader.cs; the message structs are in
 * llr_messages.h, generated from src/LowLatencyRisk.Engine/Wire/Messages.cs. Every field has a
 * _Static_assert on its offset; layout.golden lists them (rendered from the C# structs, printed by
 * test/layout_print.c from these headers; `make check` compares). Little-endian x86-64 / AArch64 only.
 *
 * Protocol (see the C# descriptor for the full text):
 *  - A slot's first 8 bytes are its stamp: sequence + 1 once published (release store after the
 *    payload), -(sequence + 1) once a consumer abandoned it (its producer died between claim and
 *    publish), 0 before first use.
 *  - Producers may write sequence s once s < min(consumer sequences) + capacity.
 *  - Multi-producer rings: claim with an atomic add (or CAS) on claim_sequence; publish with a
 *    CAS on the stamp from its previous value, which fails if the slot was abandoned.
 */
#ifndef LLR_IPC_H
#define LLR_IPC_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#ifdef __cplusplus
extern "C" {
#endif

#define LLR_RING_MAGIC 0x31474E4952524C4CULL /* "LLRRING1" */
#define LLR_RING_LAYOUT_VERSION 1
#define LLR_RING_LINE 128
#define LLR_RING_MAX_CONSUMERS 4
#define LLR_RING_SLOTS_OFFSET 768
#define LLR_STAMP_SIZE 8
#define LLR_PRODUCER_SINGLE 1
#define LLR_PRODUCER_MULTI 2

/* Ring file header: offsets 0..767; slots follow at LLR_RING_SLOTS_OFFSET. */
typedef struct llr_ring_header_t {
    uint64_t magic;              /*   0 creator, once */
    int32_t layout_version;      /*   8 creator, once */
    int32_t header_length;       /*  12 creator, once (= 768) */
    int32_t slot_size;           /*  16 creator, once (multiple of 64, stamp included) */
    int32_t capacity;            /*  20 creator, once (power of two) */
    int32_t producer_mode;       /*  24 creator, once (1 single, 2 multi) */
    int32_t consumer_count;      /*  28 creator, once (1..4) */
    int64_t file_length;         /*  32 creator, once */
    int32_t creator_pid;         /*  40 creator, once */
    int32_t ready;               /*  44 creator, last, release store */
    int64_t created_unix_nanos;  /*  48 creator, once */
    uint8_t reserved0[72];       /*  56 */
    int64_t claim_sequence;      /* 128 producers: next sequence to claim */
    uint8_t pad1[120];           /* 136 */
    struct {
        int64_t sequence;        /* +0 consumer i only: slots finished */
        int64_t abandoned_slots; /* +8 consumer i only */
        uint8_t pad[112];
    } consumers[LLR_RING_MAX_CONSUMERS]; /* 256 */
} llr_ring_header_t;

_Static_assert(offsetof(llr_ring_header_t, magic) == 0, "magic");
_Static_assert(offsetof(llr_ring_header_t, layout_version) == 8, "layout_version");
_Static_assert(offsetof(llr_ring_header_t, header_length) == 12, "header_length");
_Static_assert(offsetof(llr_ring_header_t, slot_size) == 16, "slot_size");
_Static_assert(offsetof(llr_ring_header_t, capacity) == 20, "capacity");
_Static_assert(offsetof(llr_ring_header_t, producer_mode) == 24, "producer_mode");
_Static_assert(offsetof(llr_ring_header_t, consumer_count) == 28, "consumer_count");
_Static_assert(offsetof(llr_ring_header_t, file_length) == 32, "file_length");
_Static_assert(offsetof(llr_ring_header_t, creator_pid) == 40, "creator_pid");
_Static_assert(offsetof(llr_ring_header_t, ready) == 44, "ready");
_Static_assert(offsetof(llr_ring_header_t, created_unix_nanos) == 48, "created_unix_nanos");
_Static_assert(offsetof(llr_ring_header_t, claim_sequence) == 128, "claim_sequence");
_Static_assert(offsetof(llr_ring_header_t, consumers) == 256, "consumers");
_Static_assert(sizeof(((llr_ring_header_t *)0)->consumers[0]) == 128, "consumer line");
_Static_assert(sizeof(llr_ring_header_t) == LLR_RING_SLOTS_OFFSET, "header size");

/* ---- The messages: generated from the C# message structs (tools/LowLatencyRisk.WireGen). */
#include "llr_messages.h"

/* ---- Attach, claim, publish, consume. */
typedef struct llr_ring_t {
    uint8_t *base;
    size_t length;
    int32_t slot_size;
    int64_t capacity;
    int32_t consumer_count;
    int32_t producer_mode;
} llr_ring_t;

enum { LLR_OK = 0, LLR_ERR_SHORT = -1, LLR_ERR_MAGIC = -2, LLR_ERR_VERSION = -3, LLR_ERR_GEOMETRY = -4, LLR_ERR_NOT_READY = -5, LLR_ERR_EXPECT = -6 };

/*
 * Validates a mapped ring (as the C# attach does) and fills *ring. expected_slot_size and
 * expected_capacity of 0 accept any valid value. On failure writes a message naming the expected
 * and actual values into err (if given) and returns a negative LLR_ERR_*.
 */
int llr_ring_attach(llr_ring_t *ring, void *mapping, size_t length, int32_t expected_slot_size, int32_t expected_capacity, char *err, size_t err_len);

/* Maps and attaches a ring file (read-write, shared). Returns LLR_OK or LLR_ERR_*; -errno-like -100 on open/mmap failure. */
int llr_ring_open(llr_ring_t *ring, const char *path, int32_t expected_slot_size, int32_t expected_capacity, char *err, size_t err_len);
void llr_ring_close(llr_ring_t *ring);

static inline llr_ring_header_t *llr_header(const llr_ring_t *r) { return (llr_ring_header_t *)r->base; }
static inline uint8_t *llr_slot(const llr_ring_t *r, int64_t seq) { return r->base + LLR_RING_SLOTS_OFFSET + (size_t)(seq & (r->capacity - 1)) * (size_t)r->slot_size; }
static inline uint8_t *llr_payload(const llr_ring_t *r, int64_t seq) { return llr_slot(r, seq) + LLR_STAMP_SIZE; }

static inline int64_t llr_gating_sequence(const llr_ring_t *r) {
    int64_t min = INT64_MAX;
    for (int i = 0; i < r->consumer_count; i++) {
        int64_t s = __atomic_load_n(&llr_header(r)->consumers[i].sequence, __ATOMIC_ACQUIRE);
        if (s < min) min = s;
    }
    return min;
}

/* Multi-producer claim of one slot: returns the sequence, or -1 when the ring is full. */
static inline int64_t llr_try_claim_multi(llr_ring_t *r) {
    int64_t *claim = &llr_header(r)->claim_sequence;
    for (;;) {
        int64_t current = __atomic_load_n(claim, __ATOMIC_ACQUIRE);
        if (current + 1 - r->capacity > llr_gating_sequence(r)) return -1;
        if (__atomic_compare_exchange_n(claim, &current, current + 1, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) return current;
    }
}

/* Multi-producer publish: 1 if published, 0 if a consumer abandoned this sequence (send it again). */
static inline int llr_publish_multi(llr_ring_t *r, int64_t seq) {
    int64_t *stamp = (int64_t *)llr_slot(r, seq);
    int64_t seen = __atomic_load_n(stamp, __ATOMIC_ACQUIRE);
    if (seen == -(seq + 1)) return 0;
    return __atomic_compare_exchange_n(stamp, &seen, seq + 1, 0, __ATOMIC_RELEASE, __ATOMIC_ACQUIRE) ? 1 : 0;
}

/* Single-producer publish (the one producer of a single-producer ring). */
static inline void llr_publish_single(llr_ring_t *r, int64_t seq) { __atomic_store_n((int64_t *)llr_slot(r, seq), seq + 1, __ATOMIC_RELEASE); }

/* Consumer: 1 and the payload if sequence `next` is readable (published), -1 if abandoned (skip it), 0 if not yet. */
static inline int llr_poll(const llr_ring_t *r, int64_t next, const uint8_t **payload) {
    int64_t stamp = __atomic_load_n((const int64_t *)llr_slot(r, next), __ATOMIC_ACQUIRE);
    if (stamp == next + 1) { *payload = llr_payload(r, next); return 1; }
    if (stamp == -(next + 1)) return -1;
    return 0;
}

/* Consumer: publishes `next` (slots finished) for consumer index i, once per batch. */
static inline void llr_consumer_commit(llr_ring_t *r, int index, int64_t next) { __atomic_store_n(&llr_header(r)->consumers[index].sequence, next, __ATOMIC_RELEASE); }

#ifdef __cplusplus
}
#endif
#endif
