/*
 * llr_producer: a C peer writing feed messages into a LowLatencyRisk feed ring (multi-producer).
 *   llr_producer RING PRODUCER_ID COUNT          COUNT messages; message k (1-based) of producer P is
 *                                                 a fill: account k % 200, instrument k % 66, quantity
 *                                                 ((k % 7) - 3 or 1) * 0.01, price 100 + k % 1000, trade id P << 40 | k;
 *                                                 every 4th message an index price 60000 + (k % 100) for underlying 0 instead
 *   llr_producer RING PRODUCER_ID hang           claims one slot, writes it, prints "claimed SEQ", never publishes
 * Prints "done COUNT" at the end. The C# tests rebuild the same stream to verify it.
 */
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "llr/llr_ipc.h"

static int64_t monotonic_ns(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return (int64_t)t.tv_sec * 1000000000LL + t.tv_nsec; }

static void write_message(uint8_t *p, int producer, int64_t k) {
    memset(p, 0, 64);
    llr_feed_header_t *h = (llr_feed_header_t *)p;
    h->version = LLR_FEED_VERSION;
    h->producer_id = (uint16_t)producer;
    h->producer_sequence = k;
    h->timestamp_nanos = 1767225600000000000LL + k * 1000;
    h->publish_ticks = monotonic_ns();
    if (k % 4 == 0) {
        llr_index_price_t *m = (llr_index_price_t *)p;
        h->type = LLR_MSG_INDEX_PRICE;
        m->underlying = 0;
        m->price = 60000.0 + (double)(k % 100);
    } else {
        llr_fill_t *f = (llr_fill_t *)p;
        int64_t side = (k % 7) - 3;
        h->type = LLR_MSG_FILL;
        f->account = (int32_t)(k % 200);
        f->instrument = (int32_t)(k % 66);
        f->quantity = (double)(side == 0 ? 1 : side) * 0.01;
        f->price = 100.0 + (double)(k % 1000);
        f->trade_id = ((int64_t)producer << 40) | k;
    }
}

int main(int argc, char **argv) {
    if (argc < 4) { fprintf(stderr, "usage: llr_producer RING PRODUCER_ID COUNT|hang\n"); return 2; }
    char *end = NULL;
    long producer_arg = strtol(argv[2], &end, 10);
    if (end == argv[2] || *end != '\0' || producer_arg < 0 || producer_arg >= LLR_MAX_PRODUCERS) {
        fprintf(stderr, "producer id %s is not in 0..%d (the engine would refuse every message)\n", argv[2], LLR_MAX_PRODUCERS - 1);
        return 2;
    }
    int producer = (int)producer_arg;
    llr_ring_t r; char err[256];
    int rc = -1;
    for (int tries = 0; tries < 1000 && rc != LLR_OK; tries++) {
        rc = llr_ring_open(&r, argv[1], LLR_FEED_SLOT_SIZE, 0, err, sizeof err);
        if (rc == LLR_ERR_NOT_READY || rc == -100) usleep(10000); else break;
    }
    if (rc != LLR_OK) { fprintf(stderr, "attach failed (%d): %s\n", rc, err); return 3; }
    if (r.producer_mode != LLR_PRODUCER_MULTI) { fprintf(stderr, "ring is not multi-producer\n"); return 3; }
    if (strcmp(argv[3], "hang") == 0) {
        int64_t s;
        while ((s = llr_try_claim_multi(&r)) < 0) { }
        write_message(llr_payload(&r, s), producer, 1);
        printf("claimed %lld\n", (long long)s);
        fflush(stdout);
        for (;;) pause();
    }
    long long count = atoll(argv[3]);
    for (int64_t k = 1; k <= count; k++) {
        int64_t s;
        while ((s = llr_try_claim_multi(&r)) < 0) { sched_yield(); }
        write_message(llr_payload(&r, s), producer, k);
        if (!llr_publish_multi(&r, s)) { k--; } /* abandoned while stalled: send again */
    }
    printf("done %lld\n", count);
    llr_ring_close(&r);
    return 0;
}
