/* Prints "Struct.Field offset size" for every field of llr_ipc.h; must equal layout.golden. */
#include <stdio.h>
#include "llr/llr_ipc.h"

#define F(S, T, f) printf("%s.%s %zu %zu\n", S, #f, offsetof(T, f), sizeof(((T *)0)->f))

int main(void) {
    F("RingHeader", llr_ring_header_t, magic);
    F("RingHeader", llr_ring_header_t, layout_version);
    F("RingHeader", llr_ring_header_t, header_length);
    F("RingHeader", llr_ring_header_t, slot_size);
    F("RingHeader", llr_ring_header_t, capacity);
    F("RingHeader", llr_ring_header_t, producer_mode);
    F("RingHeader", llr_ring_header_t, consumer_count);
    F("RingHeader", llr_ring_header_t, file_length);
    F("RingHeader", llr_ring_header_t, creator_pid);
    F("RingHeader", llr_ring_header_t, ready);
    F("RingHeader", llr_ring_header_t, created_unix_nanos);
    F("RingHeader", llr_ring_header_t, claim_sequence);
    for (int i = 0; i < LLR_RING_MAX_CONSUMERS; i++) {
        printf("RingHeader.consumer%d_sequence %zu %zu\n", i, offsetof(llr_ring_header_t, consumers) + (size_t)i * 128, sizeof(int64_t));
        printf("RingHeader.consumer%d_abandoned_slots %zu %zu\n", i, offsetof(llr_ring_header_t, consumers) + (size_t)i * 128 + 8, sizeof(int64_t));
    }
    printf("RingHeader.slots %d 0\n", LLR_RING_SLOTS_OFFSET);
    F("FeedHeader", llr_feed_header_t, type);
    F("FeedHeader", llr_feed_header_t, version);
    F("FeedHeader", llr_feed_header_t, producer_id);
    F("FeedHeader", llr_feed_header_t, producer_epoch);
    F("FeedHeader", llr_feed_header_t, producer_sequence);
    F("FeedHeader", llr_feed_header_t, timestamp_nanos);
    F("FeedHeader", llr_feed_header_t, publish_ticks);
    F("IndexPrice", llr_index_price_t, underlying);
    F("IndexPrice", llr_index_price_t, price);
    F("OptionMark", llr_option_mark_t, instrument);
    F("OptionMark", llr_option_mark_t, volatility);
    F("OptionMark", llr_option_mark_t, price);
    F("Fill", llr_fill_t, account);
    F("Fill", llr_fill_t, instrument);
    F("Fill", llr_fill_t, quantity);
    F("Fill", llr_fill_t, price);
    F("Fill", llr_fill_t, trade_id);
    F("Collateral", llr_collateral_t, account);
    F("Collateral", llr_collateral_t, asset);
    F("Collateral", llr_collateral_t, balance);
    F("InstrumentDefinition", llr_instrument_definition_t, instrument);
    F("InstrumentDefinition", llr_instrument_definition_t, underlying);
    F("InstrumentDefinition", llr_instrument_definition_t, strike);
    F("InstrumentDefinition", llr_instrument_definition_t, expiry_nanos);
    F("InstrumentDefinition", llr_instrument_definition_t, multiplier);
    F("InstrumentDefinition", llr_instrument_definition_t, tick_size);
    F("InstrumentDefinition", llr_instrument_definition_t, lot_size);
    F("InstrumentDefinition", llr_instrument_definition_t, kind);
    F("LimitChange", llr_limit_change_t, scope);
    F("LimitChange", llr_limit_change_t, field);
    F("LimitChange", llr_limit_change_t, id);
    F("LimitChange", llr_limit_change_t, value);
    F("MarginMode", llr_margin_mode_t, account);
    F("MarginMode", llr_margin_mode_t, parent);
    F("MarginMode", llr_margin_mode_t, instrument);
    F("MarginMode", llr_margin_mode_t, mode);
    F("CollateralTransfer", llr_collateral_transfer_t, from_account);
    F("CollateralTransfer", llr_collateral_transfer_t, to_account);
    F("CollateralTransfer", llr_collateral_transfer_t, amount);
    F("CollateralTransfer", llr_collateral_transfer_t, asset);
    F("Breach", llr_breach_t, type);
    F("Breach", llr_breach_t, version);
    F("Breach", llr_breach_t, from_state);
    F("Breach", llr_breach_t, to_state);
    F("Breach", llr_breach_t, account);
    F("Breach", llr_breach_t, breach_sequence);
    F("Breach", llr_breach_t, timestamp_nanos);
    F("Breach", llr_breach_t, source_publish_ticks);
    F("Breach", llr_breach_t, equity);
    F("Breach", llr_breach_t, initial_margin);
    F("Breach", llr_breach_t, maintenance_margin);
    F("Breach", llr_breach_t, candidate_count);
    F("Breach", llr_breach_t, cause);
    F("Breach", llr_breach_t, margin_mode);
    F("Breach", llr_breach_t, replaced);
    F("Breach", llr_breach_t, candidates);
    F("Breach", llr_breach_t, publish_ticks);
    F("OrderCheckRequest", llr_order_check_request_t, message_type);
    F("OrderCheckRequest", llr_order_check_request_t, version);
    F("OrderCheckRequest", llr_order_check_request_t, side);
    F("OrderCheckRequest", llr_order_check_request_t, order_type);
    F("OrderCheckRequest", llr_order_check_request_t, time_in_force);
    F("OrderCheckRequest", llr_order_check_request_t, flags);
    F("OrderCheckRequest", llr_order_check_request_t, correlation_id);
    F("OrderCheckRequest", llr_order_check_request_t, account);
    F("OrderCheckRequest", llr_order_check_request_t, instrument);
    F("OrderCheckRequest", llr_order_check_request_t, quantity);
    F("OrderCheckRequest", llr_order_check_request_t, limit_price);
    F("OrderCheckRequest", llr_order_check_request_t, client_order_id);
    F("OrderCheckRequest", llr_order_check_request_t, timestamp_nanos);
    F("OrderCheckResponse", llr_order_check_response_t, message_type);
    F("OrderCheckResponse", llr_order_check_response_t, version);
    F("OrderCheckResponse", llr_order_check_response_t, reason);
    F("OrderCheckResponse", llr_order_check_response_t, correlation_id);
    F("OrderCheckResponse", llr_order_check_response_t, limit);
    F("OrderCheckResponse", llr_order_check_response_t, actual);
    F("OrderCheckResponse", llr_order_check_response_t, request_timestamp);
    return 0;
}
