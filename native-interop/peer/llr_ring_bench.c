/*
 * llr_ring_bench: the C end of the PerfTests ring benchmarks (same roles as the C# child process).
 *   llr_ring_bench produce RING COUNT BATCH [CPU]   single producer: COUNT 64-byte messages in batches
 *                                                   (payload: message index at +0, sequence at +48)
 *   llr_ring_bench echo PING PONG COUNT [CPU]       read COUNT messages from PING, echo the first 8 bytes to PONG
 */
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "llr/llr_ipc.h"

typedef struct { llr_ring_t r; int64_t next; int64_t cached_gate; } sp_t;

static void pin(int argc, char **argv, int at) {
    if (argc > at) { cpu_set_t set; CPU_ZERO(&set); CPU_SET(atoi(argv[at]), &set); sched_setaffinity(0, sizeof set, &set); }
}

static int open_ring(llr_ring_t *r, const char *path) {
    char err[256]; int rc = -1;
    for (int tries = 0; tries < 1000; tries++) {
        rc = llr_ring_open(r, path, 0, 0, err, sizeof err);
        if (rc == LLR_OK) return 0;
        usleep(10000);
    }
    fprintf(stderr, "attach %s failed: %s\n", path, err);
    return 3;
}

/* Single-producer claim of n slots (local counter, cached gate), waiting while full. */
static int64_t sp_claim(sp_t *p, int n) {
    int64_t end = p->next + n;
    while (end - p->r.capacity > p->cached_gate) {
        p->cached_gate = llr_gating_sequence(&p->r);
        if (end - p->r.capacity > p->cached_gate) __builtin_ia32_pause();
    }
    int64_t first = p->next;
    p->next = end;
    llr_header(&p->r)->claim_sequence = end;
    return first;
}

int main(int argc, char **argv) {
    if (argc >= 5 && strcmp(argv[1], "produce") == 0) {
        sp_t p; memset(&p, 0, sizeof p);
        if (open_ring(&p.r, argv[2])) return 3;
        pin(argc, argv, 5);
        p.next = llr_header(&p.r)->claim_sequence;
        long long count = atoll(argv[3]); int batch = atoi(argv[4]);
        for (long long sent = 0; sent < count;) {
            int n = (int)((count - sent) < batch ? (count - sent) : batch);
            int64_t first = sp_claim(&p, n);
            for (int k = 0; k < n; k++) {
                uint8_t *pl = llr_payload(&p.r, first + k);
                int64_t v = sent + k, s = first + k;
                memcpy(pl, &v, 8); memcpy(pl + 48, &s, 8);
            }
            for (int k = 0; k < n; k++) llr_publish_single(&p.r, first + k);
            sent += n;
        }
        return 0;
    }
    if (argc >= 5 && strcmp(argv[1], "echo") == 0) {
        llr_ring_t ping; sp_t pong; memset(&pong, 0, sizeof pong);
        if (open_ring(&ping, argv[2]) || open_ring(&pong.r, argv[3])) return 3;
        pin(argc, argv, 5);
        pong.next = llr_header(&pong.r)->claim_sequence;
        long long count = atoll(argv[4]);
        int64_t next = llr_header(&ping)->consumers[0].sequence;
        for (long long done = 0; done < count;) {
            const uint8_t *pl;
            int got = llr_poll(&ping, next, &pl);
            if (got == 0) { __builtin_ia32_pause(); continue; }
            if (got == 1) {
                int64_t s = sp_claim(&pong, 1);
                memcpy(llr_payload(&pong.r, s), pl, 8);
                llr_publish_single(&pong.r, s);
                done++;
            }
            next++;
            llr_consumer_commit(&ping, 0, next);
        }
        return 0;
    }
    fprintf(stderr, "usage: llr_ring_bench produce RING COUNT BATCH [CPU] | echo PING PONG COUNT [CPU]\n");
    return 2;
}
