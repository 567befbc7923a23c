/*
 * llr_ipc.h — the LowLatencyRisk shared-memory layout for C and C++ peers (C11).
 *
 * Mirrors src/LowLatencyRisk.Ipc/Layout/RingHeaderDescriptor.cs (ring files) and
 * src/LowLatencyRisk.Engine/Wire/FeedMessages.cs (feed and breach messages). Every field has a
 * _Static_assert on its offset; layout.golden lists them and a C# test checks the C# side
 * against the same file. Little-endian x86-64 / AArch64 only.
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

/* ---- Feed messages (128-byte slots: 8-byte stamp + 120-byte payload). Offsets within the payload. */
#define LLR_FEED_SLOT_SIZE 128
#define LLR_FEED_VERSION 1
enum { LLR_MSG_INDEX_PRICE = 2, LLR_MSG_OPTION_MARK = 3, LLR_MSG_FILL = 4, LLR_MSG_ORDER_LIFECYCLE = 5,
       LLR_MSG_COLLATERAL = 6, LLR_MSG_KILL_SWITCH = 7, LLR_MSG_HEARTBEAT = 8,
       LLR_MSG_INSTRUMENT_DEFINITION = 9, LLR_MSG_LIMIT_CHANGE = 10, LLR_MSG_MARGIN_MODE = 11,
       LLR_MSG_COLLATERAL_TRANSFER = 12, LLR_MSG_BREACH = 16 };

#define LLR_MAX_PRODUCERS 64 /* producer ids are 0..63: the engine refuses any other */
typedef struct llr_feed_header_t {
    uint8_t type;                /*  0 */
    uint8_t version;             /*  1 */
    uint16_t producer_id;        /*  2 */
    uint32_t producer_epoch;     /*  4 the producer's session: a restarted producer raises it and starts again at sequence 1 */
    int64_t producer_sequence;   /*  8 1, 2, 3 ... per producer and epoch; a jump beyond the engine's window is refused */
    int64_t timestamp_nanos;     /* 16 Unix ns, business time */
    int64_t publish_ticks;       /* 24 CLOCK_MONOTONIC ns at publish */
} llr_feed_header_t;
_Static_assert(offsetof(llr_feed_header_t, type) == 0, "type");
_Static_assert(offsetof(llr_feed_header_t, version) == 1, "version");
_Static_assert(offsetof(llr_feed_header_t, producer_id) == 2, "producer_id");
_Static_assert(offsetof(llr_feed_header_t, producer_epoch) == 4, "producer_epoch");
_Static_assert(offsetof(llr_feed_header_t, producer_sequence) == 8, "producer_sequence");
_Static_assert(offsetof(llr_feed_header_t, timestamp_nanos) == 16, "timestamp_nanos");
_Static_assert(offsetof(llr_feed_header_t, publish_ticks) == 24, "publish_ticks");
_Static_assert(sizeof(llr_feed_header_t) == 32, "feed header size");

typedef struct llr_index_price_t { llr_feed_header_t h; int32_t underlying; uint32_t pad; double price; } llr_index_price_t;
_Static_assert(offsetof(llr_index_price_t, underlying) == 32, "underlying");
_Static_assert(offsetof(llr_index_price_t, price) == 40, "price");

typedef struct llr_option_mark_t { llr_feed_header_t h; int32_t instrument; uint32_t pad; double volatility; double price; } llr_option_mark_t;
_Static_assert(offsetof(llr_option_mark_t, instrument) == 32, "instrument");
_Static_assert(offsetof(llr_option_mark_t, volatility) == 40, "volatility");
_Static_assert(offsetof(llr_option_mark_t, price) == 48, "price");

typedef struct llr_fill_t { llr_feed_header_t h; int32_t account; int32_t instrument; double quantity; double price; int64_t trade_id; } llr_fill_t;
_Static_assert(offsetof(llr_fill_t, account) == 32, "account");
_Static_assert(offsetof(llr_fill_t, instrument) == 36, "instrument");
_Static_assert(offsetof(llr_fill_t, quantity) == 40, "quantity");
_Static_assert(offsetof(llr_fill_t, price) == 48, "price");
_Static_assert(offsetof(llr_fill_t, trade_id) == 56, "trade_id");
_Static_assert(sizeof(llr_fill_t) == 64, "fill size");

/* event: 1 filled (partly: filled_quantity), 2 cancelled, 3 expired — releases the gate's working exposure. */
typedef struct llr_order_lifecycle_t { llr_feed_header_t h; int32_t account; uint8_t event; uint8_t pad[3]; int64_t client_order_id; double filled_quantity; } llr_order_lifecycle_t;
_Static_assert(offsetof(llr_order_lifecycle_t, account) == 32, "account");
_Static_assert(offsetof(llr_order_lifecycle_t, event) == 36, "event");
_Static_assert(offsetof(llr_order_lifecycle_t, client_order_id) == 40, "client_order_id");
_Static_assert(offsetof(llr_order_lifecycle_t, filled_quantity) == 48, "filled_quantity");

/* scope: 0 venue, 1 underlying, 2 account (id is the underlying or account; ignored for the venue). */
typedef struct llr_kill_switch_t { llr_feed_header_t h; uint8_t scope; uint8_t on; uint16_t pad; int32_t id; } llr_kill_switch_t;
_Static_assert(offsetof(llr_kill_switch_t, scope) == 32, "scope");
_Static_assert(offsetof(llr_kill_switch_t, on) == 33, "on");
_Static_assert(offsetof(llr_kill_switch_t, id) == 36, "id");

typedef struct llr_collateral_t { llr_feed_header_t h; int32_t account; int32_t asset; double balance; } llr_collateral_t;
_Static_assert(offsetof(llr_collateral_t, account) == 32, "account");
_Static_assert(offsetof(llr_collateral_t, asset) == 36, "asset");
_Static_assert(offsetof(llr_collateral_t, balance) == 40, "balance");

/* kind: 0 spot, 1 future, 2 perpetual, 3 call, 4 put. Definitions are immutable once accepted. */
typedef struct llr_instrument_definition_t {
    llr_feed_header_t h; int32_t instrument; int32_t underlying; double strike; int64_t expiry_nanos;
    double multiplier; double tick_size; double lot_size; uint8_t kind; uint8_t pad[7];
} llr_instrument_definition_t;
_Static_assert(offsetof(llr_instrument_definition_t, instrument) == 32, "instrument");
_Static_assert(offsetof(llr_instrument_definition_t, underlying) == 36, "underlying");
_Static_assert(offsetof(llr_instrument_definition_t, strike) == 40, "strike");
_Static_assert(offsetof(llr_instrument_definition_t, expiry_nanos) == 48, "expiry_nanos");
_Static_assert(offsetof(llr_instrument_definition_t, multiplier) == 56, "multiplier");
_Static_assert(offsetof(llr_instrument_definition_t, tick_size) == 64, "tick_size");
_Static_assert(offsetof(llr_instrument_definition_t, lot_size) == 72, "lot_size");
_Static_assert(offsetof(llr_instrument_definition_t, kind) == 80, "kind");

/* scope: 1 instrument, 2 account; field: see LimitField in FeedMessages.cs (1..6). */
typedef struct llr_limit_change_t { llr_feed_header_t h; uint8_t scope; uint8_t field; uint16_t pad; int32_t id; double value; } llr_limit_change_t;
_Static_assert(offsetof(llr_limit_change_t, scope) == 32, "scope");
_Static_assert(offsetof(llr_limit_change_t, field) == 33, "field");
_Static_assert(offsetof(llr_limit_change_t, id) == 36, "id");
_Static_assert(offsetof(llr_limit_change_t, value) == 40, "value");

/* mode: 0 portfolio, 1 standard, 2 isolated (parent and instrument then required; else -1). An account
 * becomes or stops being isolated only while flat; between portfolio and standard only when it would be
 * healthy under the new mode. */
enum { LLR_MARGIN_PORTFOLIO = 0, LLR_MARGIN_STANDARD = 1, LLR_MARGIN_ISOLATED = 2 };
typedef struct llr_margin_mode_t { llr_feed_header_t h; int32_t account; int32_t parent; int32_t instrument; uint8_t mode; uint8_t pad[3]; } llr_margin_mode_t;
_Static_assert(offsetof(llr_margin_mode_t, account) == 32, "account");
_Static_assert(offsetof(llr_margin_mode_t, parent) == 36, "parent");
_Static_assert(offsetof(llr_margin_mode_t, instrument) == 40, "instrument");
_Static_assert(offsetof(llr_margin_mode_t, mode) == 44, "mode");

/* Between an isolated account and its parent only; the source must hold the amount and stay healthy. */
typedef struct llr_collateral_transfer_t { llr_feed_header_t h; int32_t from_account; int32_t to_account; double amount; int32_t asset; uint32_t pad; } llr_collateral_transfer_t;
_Static_assert(offsetof(llr_collateral_transfer_t, from_account) == 32, "from_account");
_Static_assert(offsetof(llr_collateral_transfer_t, to_account) == 36, "to_account");
_Static_assert(offsetof(llr_collateral_transfer_t, amount) == 40, "amount");
_Static_assert(offsetof(llr_collateral_transfer_t, asset) == 48, "asset");

/* ---- Breach messages (128-byte slots). */
#define LLR_BREACH_SLOT_SIZE 128
#define LLR_BREACH_VERSION 3
/* Nothing is dropped: while the ring is full, later changes of an account fold into its waiting
 * breach (first from_state, latest to_state and numbers, replaced counted), so a reader's last
 * message per account is the account's current state. */
typedef struct llr_breach_t {
    uint8_t type;                 /*  0 = 16 */
    uint8_t version;              /*  1 */
    uint8_t from_state;           /*  2 0 healthy, 1 margin call, 2 liquidation */
    uint8_t to_state;             /*  3 */
    int32_t account;              /*  4 */
    int64_t breach_sequence;      /*  8 */
    int64_t timestamp_nanos;      /* 16 */
    int64_t source_publish_ticks; /* 24 */
    double equity;                /* 32 */
    double initial_margin;        /* 40 */
    double maintenance_margin;    /* 48 */
    uint8_t candidate_count;      /* 56 0..3 */
    uint8_t cause;                /* 57 1 fill or collateral, 2 revaluation, 3 recovery */
    uint8_t margin_mode;          /* 58 0 portfolio, 1 standard, 2 isolated (an isolated position: liquidating it touches nothing else) */
    uint8_t reserved;             /* 59 */
    int32_t replaced;             /* 60 state changes folded into this one while it waited (0 normally) */
    struct { int32_t instrument; int32_t reserved; double quantity; } candidates[3]; /* 64 liquidation triggers only */
    int64_t publish_ticks;        /* 112 CLOCK_MONOTONIC ns when the engine published it */
} llr_breach_t;
_Static_assert(offsetof(llr_breach_t, from_state) == 2, "from_state");
_Static_assert(offsetof(llr_breach_t, to_state) == 3, "to_state");
_Static_assert(offsetof(llr_breach_t, account) == 4, "account");
_Static_assert(offsetof(llr_breach_t, breach_sequence) == 8, "breach_sequence");
_Static_assert(offsetof(llr_breach_t, source_publish_ticks) == 24, "source_publish_ticks");
_Static_assert(offsetof(llr_breach_t, equity) == 32, "equity");
_Static_assert(offsetof(llr_breach_t, initial_margin) == 40, "initial_margin");
_Static_assert(offsetof(llr_breach_t, maintenance_margin) == 48, "maintenance_margin");
_Static_assert(offsetof(llr_breach_t, candidate_count) == 56, "candidate_count");
_Static_assert(offsetof(llr_breach_t, cause) == 57, "cause");
_Static_assert(offsetof(llr_breach_t, margin_mode) == 58, "margin_mode");
_Static_assert(offsetof(llr_breach_t, replaced) == 60, "replaced");
_Static_assert(offsetof(llr_breach_t, candidates) == 64, "candidates");
_Static_assert(offsetof(llr_breach_t, publish_ticks) == 112, "publish_ticks");
_Static_assert(sizeof(llr_breach_t) == 120, "breach size");

/* ---- Pre-trade gate: order-check request and decision (64-byte slots: 8-byte stamp + 56-byte payload). */
#define LLR_GATE_SLOT_SIZE 64
enum { LLR_MSG_ORDER_CHECK_REQUEST = 20, LLR_MSG_ORDER_CHECK_RESPONSE = 21 };

typedef struct llr_order_check_request_t {
    uint16_t message_type;       /*  0 = 20 */
    uint8_t version;             /*  2 = 1 */
    uint8_t side;                /*  3 1 buy, 2 sell */
    uint8_t order_type;          /*  4 0 limit, 1 market */
    uint8_t time_in_force;       /*  5 */
    uint8_t flags;               /*  6 bit 0 reduce-only */
    uint8_t reserved;            /*  7 */
    int64_t correlation_id;      /*  8 echoed in the response */
    int32_t account;             /* 16 */
    int32_t instrument;          /* 20 */
    double quantity;             /* 24 */
    double limit_price;          /* 32 */
    int64_t client_order_id;     /* 40 0 .. 2^40 - 1 */
    int64_t timestamp_nanos;     /* 48 Unix ns */
} llr_order_check_request_t;
_Static_assert(offsetof(llr_order_check_request_t, message_type) == 0, "message_type");
_Static_assert(offsetof(llr_order_check_request_t, version) == 2, "version");
_Static_assert(offsetof(llr_order_check_request_t, side) == 3, "side");
_Static_assert(offsetof(llr_order_check_request_t, order_type) == 4, "order_type");
_Static_assert(offsetof(llr_order_check_request_t, time_in_force) == 5, "time_in_force");
_Static_assert(offsetof(llr_order_check_request_t, flags) == 6, "flags");
_Static_assert(offsetof(llr_order_check_request_t, correlation_id) == 8, "correlation_id");
_Static_assert(offsetof(llr_order_check_request_t, account) == 16, "account");
_Static_assert(offsetof(llr_order_check_request_t, instrument) == 20, "instrument");
_Static_assert(offsetof(llr_order_check_request_t, quantity) == 24, "quantity");
_Static_assert(offsetof(llr_order_check_request_t, limit_price) == 32, "limit_price");
_Static_assert(offsetof(llr_order_check_request_t, client_order_id) == 40, "client_order_id");
_Static_assert(offsetof(llr_order_check_request_t, timestamp_nanos) == 48, "timestamp_nanos");
_Static_assert(sizeof(llr_order_check_request_t) == 56, "request size");

typedef struct llr_order_check_response_t {
    uint16_t message_type;       /*  0 = 21 */
    uint8_t version;             /*  2 = 1 */
    uint8_t reason;              /*  3 0 accepted, else the RejectReason */
    uint32_t reserved;           /*  4 */
    int64_t correlation_id;      /*  8 */
    double limit;                /* 16 the limit that failed */
    double actual;               /* 24 the value that failed it */
    int64_t request_timestamp;   /* 32 */
    uint8_t reserved2[16];       /* 40 */
} llr_order_check_response_t;
_Static_assert(offsetof(llr_order_check_response_t, reason) == 3, "reason");
_Static_assert(offsetof(llr_order_check_response_t, correlation_id) == 8, "correlation_id");
_Static_assert(offsetof(llr_order_check_response_t, limit) == 16, "limit");
_Static_assert(offsetof(llr_order_check_response_t, actual) == 24, "actual");
_Static_assert(offsetof(llr_order_check_response_t, request_timestamp) == 32, "request_timestamp");
_Static_assert(sizeof(llr_order_check_response_t) == 56, "response size");

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
