#include <stdlib.h>
#include <string.h>

#include "supportdesk_conformance.h"

const ProtobufCMessageDescriptor *sd_conformance_descriptor(const char *full_name) {
    for (size_t i = 0; i < sd_conformance_entry_count; i++) {
        if (strcmp(sd_conformance_entries[i].name, full_name) == 0) return sd_conformance_entries[i].descriptor;
    }
    return NULL;
}

int sd_conformance_repack(const char *full_name, const uint8_t *input, size_t input_len, uint8_t **output,
                          size_t *output_len) {
    *output = NULL;
    *output_len = 0;
    const ProtobufCMessageDescriptor *descriptor = sd_conformance_descriptor(full_name);
    if (descriptor == NULL) return -1;
    ProtobufCMessage *message = protobuf_c_message_unpack(descriptor, NULL, input_len, input);
    if (message == NULL) return -2;
    size_t length = protobuf_c_message_get_packed_size(message);
    if (length > 0) {
        *output = malloc(length);
        if (*output == NULL) {
            protobuf_c_message_free_unpacked(message, NULL);
            return -3;
        }
        size_t packed = protobuf_c_message_pack(message, *output);
        *output_len = packed;
    }
    protobuf_c_message_free_unpacked(message, NULL);
    return 0;
}
