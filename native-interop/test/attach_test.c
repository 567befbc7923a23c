/* C-side attach validation: a valid ring attaches; a wrong version, magic or expected size fails with a message naming both values. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "llr/llr_ipc.h"

static int failures;
#define CHECK(cond, ...) do { if (!(cond)) { failures++; fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__); fprintf(stderr, __VA_ARGS__); fputc('\n', stderr); } } while (0)

static void make_ring(uint8_t *m, int32_t slot, int32_t cap) {
    memset(m, 0, LLR_RING_SLOTS_OFFSET + (size_t)slot * cap);
    llr_ring_header_t *h = (llr_ring_header_t *)m;
    h->magic = LLR_RING_MAGIC; h->layout_version = 1; h->header_length = LLR_RING_SLOTS_OFFSET; h->slot_size = slot; h->capacity = cap;
    h->producer_mode = LLR_PRODUCER_MULTI; h->consumer_count = 1; h->file_length = LLR_RING_SLOTS_OFFSET + (int64_t)slot * cap; h->ready = 1;
}

int main(void) {
    const int32_t slot = 128, cap = 16;
    size_t len = LLR_RING_SLOTS_OFFSET + (size_t)slot * cap;
    uint8_t *m = aligned_alloc(4096, (len + 4095) / 4096 * 4096);
    llr_ring_t r; char err[200];

    make_ring(m, slot, cap);
    CHECK(llr_ring_attach(&r, m, len, slot, cap, err, sizeof err) == LLR_OK, "valid ring: %s", err);

    /* claim, publish, consume round trip; full ring refuses a claim */
    for (int i = 0; i < cap; i++) { int64_t s = llr_try_claim_multi(&r); CHECK(s == i, "claim %d got %lld", i, (long long)s); CHECK(llr_publish_multi(&r, s) == 1, "publish"); }
    CHECK(llr_try_claim_multi(&r) == -1, "full ring must refuse a claim");
    const uint8_t *p; CHECK(llr_poll(&r, 0, &p) == 1, "poll published");
    llr_consumer_commit(&r, 0, 1);
    CHECK(llr_try_claim_multi(&r) == cap, "claim after consume");

    make_ring(m, slot, cap); ((llr_ring_header_t *)m)->layout_version = 9;
    CHECK(llr_ring_attach(&r, m, len, 0, 0, err, sizeof err) == LLR_ERR_VERSION && strstr(err, "expected 1, actual 9"), "version: %s", err);
    make_ring(m, slot, cap); ((llr_ring_header_t *)m)->magic = 42;
    CHECK(llr_ring_attach(&r, m, len, 0, 0, err, sizeof err) == LLR_ERR_MAGIC && strstr(err, "Magic expected"), "magic: %s", err);
    make_ring(m, slot, cap);
    CHECK(llr_ring_attach(&r, m, len, 64, 0, err, sizeof err) == LLR_ERR_EXPECT && strstr(err, "SlotSize expected 64, actual 128"), "slot size: %s", err);
    CHECK(llr_ring_attach(&r, m, len, 0, 32, err, sizeof err) == LLR_ERR_EXPECT && strstr(err, "Capacity expected 32, actual 16"), "capacity: %s", err);
    CHECK(llr_ring_attach(&r, m, len - 1, 0, 0, err, sizeof err) == LLR_ERR_SHORT, "truncated: %s", err);
    ((llr_ring_header_t *)m)->ready = 0;
    CHECK(llr_ring_attach(&r, m, len, 0, 0, err, sizeof err) == LLR_ERR_NOT_READY, "not ready: %s", err);

    free(m);
    printf("%s: attach_test\n", failures ? "FAILED" : "ok");
    return failures ? 1 : 0;
}
