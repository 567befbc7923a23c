/*
 * llr_gate_client: a C matching engine asking the LowLatencyRisk gate (out of process).
 *   llr_gate_client REQUESTS RESPONSES COUNT INSTRUMENT PRICE BAD_PRICE
 * Sends COUNT order checks (even: a valid buy of 0.001 at PRICE for account 1 or 2, odd: the
 * off-tick BAD_PRICE), up to 64 in flight, reads every decision, checks its correlation id and its
 * reason (0 for even, 8 = InvalidTick for odd), prints "ok COUNT".
 */
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "llr/llr_ipc.h"

int main(int argc, char **argv) {
    if (argc < 7) { fprintf(stderr, "usage: llr_gate_client REQUESTS RESPONSES COUNT INSTRUMENT PRICE BAD_PRICE\n"); return 2; }
    llr_ring_t req, resp; char err[256];
    if (llr_ring_open(&req, argv[1], LLR_GATE_SLOT_SIZE, 0, err, sizeof err) != LLR_OK) { fprintf(stderr, "requests: %s\n", err); return 3; }
    if (llr_ring_open(&resp, argv[2], LLR_GATE_SLOT_SIZE, 0, err, sizeof err) != LLR_OK) { fprintf(stderr, "responses: %s\n", err); return 3; }
    long long count = atoll(argv[3]);
    int instrument = atoi(argv[4]);
    double price = atof(argv[5]), bad = atof(argv[6]);
    int64_t next = __atomic_load_n(&llr_header(&resp)->consumers[0].sequence, __ATOMIC_ACQUIRE);
    long long sent = 0, received = 0;
    while (received < count) {
        while (sent < count && sent - received < 64) {
            int64_t s = llr_try_claim_multi(&req);
            if (s < 0) break;
            llr_order_check_request_t *r = (llr_order_check_request_t *)llr_payload(&req, s);
            memset(r, 0, sizeof *r);
            r->message_type = LLR_MSG_ORDER_CHECK_REQUEST;
            r->version = 1;
            r->side = 1;
            r->order_type = 0;
            r->correlation_id = sent;
            r->account = sent % 8 == 0 ? 1 : 2;
            r->instrument = instrument;
            r->quantity = 0.001;
            r->limit_price = (sent & 1) == 0 ? price : bad;
            r->client_order_id = sent + 1;
            r->timestamp_nanos = 1767225600000000000LL + 1000 + sent;
            if (!llr_publish_multi(&req, s)) { fprintf(stderr, "request slot abandoned\n"); return 4; }
            sent++;
        }
        const uint8_t *p;
        int got = llr_poll(&resp, next, &p);
        if (got == 0) { sched_yield(); continue; }
        if (got == 1) {
            const llr_order_check_response_t *d = (const llr_order_check_response_t *)p;
            int expected = (received & 1) == 0 ? 0 : 8;
            if (d->message_type != LLR_MSG_ORDER_CHECK_RESPONSE || d->correlation_id != received || d->reason != expected) {
                fprintf(stderr, "response %lld: type %d correlation %lld reason %d (expected %d)\n", received, d->message_type, (long long)d->correlation_id, d->reason, expected);
                return 5;
            }
            received++;
        }
        next++;
        llr_consumer_commit(&resp, 0, next);
    }
    printf("ok %lld\n", received);
    return 0;
}
