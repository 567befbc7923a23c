/*
 * llr_consumer: a C peer reading margin breaches from a LowLatencyRisk breach ring (consumer 0).
 *   llr_consumer RING COUNT    reads COUNT breaches, checks their version and that their sequence numbers run 1, 2, 3 ...,
 *                              prints one line per breach "breach SEQ ACCOUNT FROM TO REPLACED" and "ok COUNT".
 */
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include "llr/llr_ipc.h"

int main(int argc, char **argv) {
    if (argc < 3) { fprintf(stderr, "usage: llr_consumer RING COUNT\n"); return 2; }
    llr_ring_t r; char err[256];
    int rc = llr_ring_open(&r, argv[1], LLR_BREACH_SLOT_SIZE, 0, err, sizeof err);
    if (rc != LLR_OK) { fprintf(stderr, "attach failed (%d): %s\n", rc, err); return 3; }
    long long count = atoll(argv[2]);
    int64_t next = __atomic_load_n(&llr_header(&r)->consumers[0].sequence, __ATOMIC_ACQUIRE);
    long long read = 0;
    while (read < count) {
        const uint8_t *p;
        int got = llr_poll(&r, next, &p);
        if (got == 0) { sched_yield(); continue; }
        if (got == 1) {
            const llr_breach_t *b = (const llr_breach_t *)p;
            if (b->type != LLR_MSG_BREACH || b->version != LLR_BREACH_VERSION || b->breach_sequence != read + 1) {
                fprintf(stderr, "bad breach at %lld: type %d version %d (expected %d) sequence %lld\n", read, b->type, b->version, LLR_BREACH_VERSION, (long long)b->breach_sequence);
                return 4;
            }
            /* a breach stands for 1 + replaced state changes of its account (folded while the ring was full) */
            printf("breach %lld %d %d %d %d\n", (long long)b->breach_sequence, b->account, b->from_state, b->to_state, b->replaced);
            read++;
        }
        next++;
        llr_consumer_commit(&r, 0, next);
    }
    printf("ok %lld\n", read);
    llr_ring_close(&r);
    return 0;
}
