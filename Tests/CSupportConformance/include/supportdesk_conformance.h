/*
 * Test-only: protoc-c's side of the wire-conformance vectors
 * (Proto/testdata). The Swift tests call these to decode a vector with
 * protobuf-c and re-encode it.
 */
#ifndef SUPPORTDESK_CONFORMANCE_H
#define SUPPORTDESK_CONFORMANCE_H

#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

typedef struct sd_conformance_entry {
    const char *name;
    const ProtobufCMessageDescriptor *descriptor;
} sd_conformance_entry;

/* Every message type with a vector (registry.c, generated). */
extern const sd_conformance_entry sd_conformance_entries[];
extern const size_t sd_conformance_entry_count;

/* The descriptor of the message named `full_name` ("support.rpc.v1.Frame"),
 * or NULL. */
const ProtobufCMessageDescriptor *sd_conformance_descriptor(const char *full_name);

/*
 * Unpacks `input` as `full_name` with protobuf_c_message_unpack and packs it
 * again with protobuf_c_message_pack into *output (malloc'd, the caller
 * frees it; NULL when *output_len is 0). Returns 0 on success, -1 for an
 * unknown name, -2 when protobuf-c cannot unpack the bytes, -3 when out of
 * memory.
 */
int sd_conformance_repack(const char *full_name, const uint8_t *input, size_t input_len, uint8_t **output,
                          size_t *output_len);

#endif
