/*
 * llr_producer: a C peer writing feed messages into a LowLatencyRisk feed ring (multi-producer).
 *   llr_producer RING PRODUCER_ID COUNT          COUNT messages; message k (1-based) of producer P is
 *                                                 a fill: account k % 200, instrument k % 66, quantity
 *                                                 ((k % 7) - 3 or 1) * 0.01, price 100 + k % 1000, trade id P << 40 | k;
 *                                                 every 4th message an index price 60000 + (k % 100) for underlying 0 instead
 *   llr_producer RING PRODUCER_ID hang           claims one slot, writes it, prints "claimed SEQ", never publishes
 *   llr_producer RING PRODUCER_ID every          one message of every feed type (sequences 1..13, in type order), each
 *                                                 field set through the header's named struct fields to the values below;
 *                                                 the C# test decodes them with its own descriptors, field by field
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

/* Message k (1..15) of the "every" stream: the feed types in order, distinctive values in every field. */
static void write_every(uint8_t *p, int producer, int64_t k) {
    memset(p, 0, LLR_FEED_SLOT_SIZE - 8);
    llr_feed_header_t *h = (llr_feed_header_t *)p;
    h->version = LLR_FEED_VERSION;
    h->producer_id = (uint16_t)producer;
    h->producer_epoch = 7;
    h->producer_sequence = k;
    h->timestamp_nanos = 1767225600000000000LL + k;
    h->publish_ticks = monotonic_ns();
    switch (k) {
    case 1: { llr_index_price_t *m = (llr_index_price_t *)p; h->type = LLR_MSG_INDEX_PRICE; m->underlying = 3; m->price = 61234.5; break; }
    case 2: { llr_option_mark_t *m = (llr_option_mark_t *)p; h->type = LLR_MSG_OPTION_MARK; m->instrument = 17; m->volatility = 0.625; m->price = 1234.25; break; }
    case 3: { llr_fill_t *m = (llr_fill_t *)p; h->type = LLR_MSG_FILL; m->account = 42; m->instrument = 7; m->quantity = -1.5; m->price = 60001.25; m->trade_id = 0x123456789LL; m->flags = LLR_FILL_MAKER; break; }
    case 4: { llr_order_lifecycle_t *m = (llr_order_lifecycle_t *)p; h->type = LLR_MSG_ORDER_LIFECYCLE; m->account = 43; m->event = 2; m->client_order_id = 0x1122334455667788LL; m->filled_quantity = 0.75; break; }
    case 5: { llr_collateral_t *m = (llr_collateral_t *)p; h->type = LLR_MSG_COLLATERAL; m->account = 44; m->asset = 1; m->balance = 12345.5; break; }
    case 6: { llr_kill_switch_t *m = (llr_kill_switch_t *)p; h->type = LLR_MSG_KILL_SWITCH; m->scope = 2; m->on = 1; m->id = 45; break; }
    case 7: h->type = LLR_MSG_HEARTBEAT; break;
    case 8: { llr_instrument_definition_t *m = (llr_instrument_definition_t *)p; h->type = LLR_MSG_INSTRUMENT_DEFINITION; m->instrument = 90; m->underlying = 1;
              m->strike = 65000; m->expiry_nanos = 1798761600000000000LL; m->multiplier = 0.1; m->tick_size = 0.5; m->lot_size = 0.01; m->kind = 4; break; }
    case 9: { llr_limit_change_t *m = (llr_limit_change_t *)p; h->type = LLR_MSG_LIMIT_CHANGE; m->scope = 2; m->field = 5; m->id = 46; m->value = 1; break; }
    case 10: { llr_margin_mode_t *m = (llr_margin_mode_t *)p; h->type = LLR_MSG_MARGIN_MODE; m->account = 47; m->parent = 48; m->instrument = 49; m->mode = LLR_MARGIN_MODE_ISOLATED; break; }
    case 11: { llr_collateral_transfer_t *m = (llr_collateral_transfer_t *)p; h->type = LLR_MSG_COLLATERAL_TRANSFER; m->from_account = 48; m->to_account = 47; m->amount = 2500.5; m->asset = 0; break; }
    case 12: { llr_size_add_on_t *m = (llr_size_add_on_t *)p; h->type = LLR_MSG_SIZE_ADD_ON; m->underlying = 2; m->combine = 1; m->base_rate = 0.0125;
               m->band_scale = 1.5; m->shock_threshold = 2.0e7; m->shock_full_at = 3.0e7; m->max_shock = 0.1; m->vega_rate = 0.25; break; }
    case 13: { llr_mmp_config_t *m = (llr_mmp_config_t *)p; h->type = LLR_MSG_MMP_CONFIG; m->account = 50; m->underlying = 3; m->interval_nanos = 5000000000LL;
               m->frozen_nanos = 100000000LL; m->quantity_limit = 100; m->delta_limit = 75.5; m->vega_limit = 1.0e4; m->action = LLR_MMP_ACTION_RESET; break; }
    case 14: { llr_funding_rate_t *m = (llr_funding_rate_t *)p; h->type = LLR_MSG_FUNDING_RATE; m->instrument = 51; m->rate = -0.000125;
               m->interval_nanos = 28800000000000LL; m->funding_time_nanos = 1767254400000000000LL; break; }
    default: { llr_scenario_calibration_t *m = (llr_scenario_calibration_t *)p; h->type = LLR_MSG_SCENARIO_CALIBRATION; m->underlying = 1;
               m->price_scan_range = 0.18; m->vol_scan_range = 0.25; m->vol_up = 0.4; m->vol_down = 0.25; m->min_vol_for_shock_up = 0.5;
               m->extended_dampener = 200000; m->basis_annual_move = 0.05; m->basis_minimum_move = 0.005; break; }
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
    if (strcmp(argv[3], "every") == 0) {
        for (int64_t k = 1; k <= 15; k++) {
            int64_t s;
            while ((s = llr_try_claim_multi(&r)) < 0) { sched_yield(); }
            write_every(llr_payload(&r, s), producer, k);
            if (!llr_publish_multi(&r, s)) { k--; }
        }
        printf("done 15\n");
        llr_ring_close(&r);
        return 0;
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
