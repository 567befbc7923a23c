/* Prints "Struct.Field offset size" for every field of llr_ipc.h and llr_messages.h; must equal layout.golden. */
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
#include "layout_fields.inc" /* generated: every message struct field, in golden order */
    return 0;
}
