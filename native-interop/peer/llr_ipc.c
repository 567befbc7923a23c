/* Attach and map helpers of llr_ipc.h. */
#include "llr/llr_ipc.h"

#include <fcntl.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

int llr_ring_attach(llr_ring_t *ring, void *mapping, size_t length, int32_t expected_slot_size, int32_t expected_capacity, char *err, size_t err_len) {
    char dummy[8];
    if (!err) { err = dummy; err_len = sizeof dummy; }
    if (length < LLR_RING_SLOTS_OFFSET) {
        snprintf(err, err_len, "file size expected at least %d, actual %zu", LLR_RING_SLOTS_OFFSET, length);
        return LLR_ERR_SHORT;
    }
    llr_ring_header_t *h = (llr_ring_header_t *)mapping;
    if (__atomic_load_n(&h->ready, __ATOMIC_ACQUIRE) != 1) { snprintf(err, err_len, "Ready expected 1, actual %d", h->ready); return LLR_ERR_NOT_READY; }
    if (h->magic != LLR_RING_MAGIC) { snprintf(err, err_len, "Magic expected 0x%016llX, actual 0x%016llX", (unsigned long long)LLR_RING_MAGIC, (unsigned long long)h->magic); return LLR_ERR_MAGIC; }
    if (h->layout_version != LLR_RING_LAYOUT_VERSION) { snprintf(err, err_len, "LayoutVersion expected %d, actual %d", LLR_RING_LAYOUT_VERSION, h->layout_version); return LLR_ERR_VERSION; }
    if (h->header_length != LLR_RING_SLOTS_OFFSET || h->slot_size < 64 || h->slot_size % 64 != 0 || h->capacity < 2 ||
        (h->capacity & (h->capacity - 1)) != 0 || h->consumer_count < 1 || h->consumer_count > LLR_RING_MAX_CONSUMERS ||
        (h->producer_mode != LLR_PRODUCER_SINGLE && h->producer_mode != LLR_PRODUCER_MULTI)) {
        snprintf(err, err_len, "invalid geometry: slot size %d, capacity %d, consumers %d, mode %d", h->slot_size, h->capacity, h->consumer_count, h->producer_mode);
        return LLR_ERR_GEOMETRY;
    }
    int64_t needed = (int64_t)LLR_RING_SLOTS_OFFSET + (int64_t)h->slot_size * h->capacity;
    if (h->file_length != needed || (int64_t)length < needed) {
        snprintf(err, err_len, "file size expected %lld, actual %zu", (long long)needed, length);
        return LLR_ERR_SHORT;
    }
    if (expected_slot_size && h->slot_size != expected_slot_size) { snprintf(err, err_len, "SlotSize expected %d, actual %d", expected_slot_size, h->slot_size); return LLR_ERR_EXPECT; }
    if (expected_capacity && h->capacity != expected_capacity) { snprintf(err, err_len, "Capacity expected %d, actual %d", expected_capacity, h->capacity); return LLR_ERR_EXPECT; }
    ring->base = (uint8_t *)mapping;
    ring->length = length;
    ring->slot_size = h->slot_size;
    ring->capacity = h->capacity;
    ring->consumer_count = h->consumer_count;
    ring->producer_mode = h->producer_mode;
    return LLR_OK;
}

int llr_ring_open(llr_ring_t *ring, const char *path, int32_t expected_slot_size, int32_t expected_capacity, char *err, size_t err_len) {
    int fd = open(path, O_RDWR);
    if (fd < 0) { if (err) snprintf(err, err_len, "cannot open %s", path); return -100; }
    struct stat st;
    if (fstat(fd, &st) != 0) { close(fd); return -100; }
    void *m = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    if (m == MAP_FAILED) { if (err) snprintf(err, err_len, "cannot map %s", path); return -100; }
    int rc = llr_ring_attach(ring, m, (size_t)st.st_size, expected_slot_size, expected_capacity, err, err_len);
    if (rc != LLR_OK) munmap(m, (size_t)st.st_size);
    return rc;
}

void llr_ring_close(llr_ring_t *ring) {
    if (ring->base) munmap(ring->base, ring->length);
    ring->base = NULL;
}
