/*
 * Connections and calls: connect, call, close, and the result type.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

void sd_result_free(sd_result *result) {
    if (result == NULL) return;
    free(result->message);
    free(result->detail_reason);
    free(result->detail_field);
    free(result->payload);
    *result = (sd_result)SD_RESULT_INIT;
}

const char *sd_code_name(int code) {
    static const char *const names[] = {
        "OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND",
        "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED",
        "OUT_OF_RANGE", "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED",
    };
    if (code < 0 || code >= (int)(sizeof names / sizeof names[0])) return "UNKNOWN_CODE";
    return names[code];
}

sd_client *sd__client_adopt(int fd) {
    sd_client *client = calloc(1, sizeof *client);
    if (client == NULL) return NULL;
    int flags = fcntl(fd, F_GETFL);
    if (flags >= 0) fcntl(fd, F_SETFL, flags | O_NONBLOCK);
    client->fd = fd;
    client->next_call_id = 1; /* 0 is reserved for connection-level frames */
    return client;
}

int sd_connect(const char *socket_path, int timeout_ms, sd_client **client_out, sd_result *result) {
    if (client_out == NULL) return sd__fail(result, SD_INVALID_ARGUMENT, "client_out is NULL");
    *client_out = NULL;
    struct sockaddr_un address;
    memset(&address, 0, sizeof address);
    address.sun_family = AF_UNIX;
    if (socket_path == NULL || socket_path[0] == '\0') {
        return sd__fail(result, SD_INVALID_ARGUMENT, "the socket path is empty");
    }
    size_t length = strlen(socket_path);
    if (length >= sizeof address.sun_path) {
        return sd__fail(result, SD_INVALID_ARGUMENT,
                        "the socket path is %zu bytes; a Unix socket path holds at most %zu", length,
                        sizeof address.sun_path - 1);
    }
    memcpy(address.sun_path, socket_path, length);

    sd_deadline deadline = sd__deadline_after(timeout_ms);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) return sd__fail(result, SD_UNAVAILABLE, "cannot create a socket: %s", strerror(errno));
    for (;;) {
        if (connect(fd, (const struct sockaddr *)&address, sizeof address) == 0 || errno == EISCONN) break;
        int error = errno;
        if (error == EINTR) continue;
        if (error == EAGAIN || error == EINPROGRESS || error == EALREADY) {
            /* The listen backlog is full: retry until the deadline. */
            struct timespec wait = { 0, 10 * 1000 * 1000 };
            if (sd__now_ms() >= deadline) {
                close(fd);
                return sd__fail(result, SD_DEADLINE_EXCEEDED, "the timeout passed connecting to %s", socket_path);
            }
            nanosleep(&wait, NULL);
            continue;
        }
        close(fd);
        return sd__fail(result, SD_UNAVAILABLE, "cannot connect to %s: %s", socket_path, strerror(error));
    }
    sd_client *client = sd__client_adopt(fd);
    if (client == NULL) {
        close(fd);
        return sd__fail(result, SD_RESOURCE_EXHAUSTED, "out of memory for a client");
    }
    *client_out = client;
    if (result != NULL) {
        sd_result_free(result);
        result->message = strdup("");
    }
    return SD_OK;
}

void sd_close(sd_client *client) {
    if (client == NULL) return;
    close(client->fd);
    free(client);
}

/* Tells the server a timed-out call is abandoned, so it stops working on
 * it. Best effort: a short deadline of its own, and a Cancel only half sent
 * ends the connection. */
static void send_cancel(sd_client *client, uint64_t call_id) {
    Support__Rpc__V1__Cancel cancel = SUPPORT__RPC__V1__CANCEL__INIT;
    cancel.call_id = call_id;
    Support__Rpc__V1__Frame frame = SUPPORT__RPC__V1__FRAME__INIT;
    frame.kind_case = SUPPORT__RPC__V1__FRAME__KIND_CANCEL;
    frame.cancel = &cancel;
    size_t written = 0;
    sd_result ignored = SD_RESULT_INIT;
    if (sd__write_frame(client, &frame, sd__deadline_after(100), &written, &ignored) != SD_OK) {
        sd__break(client, SD_UNAVAILABLE, "a Cancel could not be sent");
    }
    sd_result_free(&ignored);
}

int sd_call(sd_client *client, const char *method, const uint8_t *request, size_t request_len,
            const sd_call_options *options, sd_result *result) {
    if (result == NULL) return SD_INVALID_ARGUMENT;
    if (client == NULL) return sd__fail(result, SD_INVALID_ARGUMENT, "the client is NULL");
    if (method == NULL || method[0] == '\0') return sd__fail(result, SD_INVALID_ARGUMENT, "the method is empty");
    if (request == NULL && request_len > 0) {
        return sd__fail(result, SD_INVALID_ARGUMENT, "the request is NULL but request_len is %zu", request_len);
    }
    sd_call_options defaults = SD_CALL_OPTIONS_INIT;
    if (options == NULL) options = &defaults;
    if (options->metadata == NULL && options->metadata_count > 0) {
        return sd__fail(result, SD_INVALID_ARGUMENT, "metadata is NULL but metadata_count is %zu",
                        options->metadata_count);
    }
    for (size_t i = 0; i < options->metadata_count; i++) {
        if (options->metadata[i].key == NULL || options->metadata[i].value == NULL) {
            return sd__fail(result, SD_INVALID_ARGUMENT, "metadata entry %zu has a NULL key or value", i);
        }
    }
    if (client->broken) {
        return sd__fail(result, SD_UNAVAILABLE, "the connection is closed: %s; connect again",
                        client->broken_reason);
    }
    if (request_len > SD_MAX_FRAME_BYTES) {
        return sd__fail(result, SD_RESOURCE_EXHAUSTED, "the request is %zu bytes, above the %u-byte maximum",
                        request_len, SD_MAX_FRAME_BYTES);
    }

    int timeout_ms = options->timeout_ms > 0 ? options->timeout_ms : SD_DEFAULT_TIMEOUT_MS;
    sd_deadline deadline = sd__deadline_after(timeout_ms);
    /* rpc.proto (Request.call_id): ids only grow, so none is reused while in
     * flight (a timed-out call keeps its id; the next call takes a new one),
     * and 0 is reserved: should the counter ever wrap, it restarts at 1. */
    uint64_t call_id = client->next_call_id++;
    if (client->next_call_id == 0) client->next_call_id = 1;

    Support__Rpc__V1__MetadataEntry *entries = NULL;
    Support__Rpc__V1__MetadataEntry **entry_pointers = NULL;
    if (options->metadata_count > 0) {
        entries = calloc(options->metadata_count, sizeof *entries);
        entry_pointers = calloc(options->metadata_count, sizeof *entry_pointers);
        if (entries == NULL || entry_pointers == NULL) {
            free(entries);
            free(entry_pointers);
            return sd__fail(result, SD_RESOURCE_EXHAUSTED, "out of memory for metadata");
        }
        for (size_t i = 0; i < options->metadata_count; i++) {
            support__rpc__v1__metadata_entry__init(&entries[i]);
            /* protobuf-c's structs are not const-correct; packing only reads. */
            entries[i].key = (char *)options->metadata[i].key;
            entries[i].value = (char *)options->metadata[i].value;
            entry_pointers[i] = &entries[i];
        }
    }
    Support__Rpc__V1__Request call = SUPPORT__RPC__V1__REQUEST__INIT;
    call.call_id = call_id;
    call.method = (char *)method;
    call.timeout_ms = (uint32_t)timeout_ms;
    call.n_metadata = options->metadata_count;
    call.metadata = entry_pointers;
    call.payload.data = (uint8_t *)request;
    call.payload.len = request_len;
    Support__Rpc__V1__Frame frame = SUPPORT__RPC__V1__FRAME__INIT;
    frame.kind_case = SUPPORT__RPC__V1__FRAME__KIND_REQUEST;
    frame.request = &call;

    size_t written = 0;
    int code = sd__write_frame(client, &frame, deadline, &written, result);
    free(entries);
    free(entry_pointers);
    if (code != SD_OK) {
        /* Half a request on the wire leaves the server mid-frame: unusable. */
        if (written > 0 || code == SD_UNAVAILABLE) sd__break(client, SD_UNAVAILABLE, result->message);
        return code;
    }
    code = sd__await_response(client, call_id, deadline, result);
    if (code == SD_DEADLINE_EXCEEDED && !client->broken) send_cancel(client, call_id);
    return code;
}

int sd_call_message(sd_client *client, const char *method, const ProtobufCMessage *request,
                    const ProtobufCMessageDescriptor *response_descriptor, const sd_call_options *options,
                    ProtobufCMessage **response_out, sd_result *result) {
    if (response_out != NULL) *response_out = NULL;
    if (result == NULL) return SD_INVALID_ARGUMENT;
    if (request == NULL || response_descriptor == NULL || response_out == NULL) {
        return sd__fail(result, SD_INVALID_ARGUMENT, "the request, response descriptor or response_out is NULL");
    }
    size_t length = protobuf_c_message_get_packed_size(request);
    if (length > SD_MAX_FRAME_BYTES) {
        return sd__fail(result, SD_RESOURCE_EXHAUSTED, "the request is %zu bytes, above the %u-byte maximum", length,
                        SD_MAX_FRAME_BYTES);
    }
    uint8_t *bytes = malloc(length > 0 ? length : 1);
    if (bytes == NULL) return sd__fail(result, SD_RESOURCE_EXHAUSTED, "out of memory for the request");
    protobuf_c_message_pack(request, bytes);
    int code = sd_call(client, method, bytes, length, options, result);
    free(bytes);
    if (code != SD_OK) return code;
    ProtobufCMessage *response = protobuf_c_message_unpack(response_descriptor, NULL, result->payload_len,
                                                           result->payload);
    if (response == NULL) {
        return sd__fail(result, SD_INTERNAL, "the response to %s is not a valid %s (%zu bytes)", method,
                        response_descriptor->name, result->payload_len);
    }
    free(result->payload);
    result->payload = NULL;
    result->payload_len = 0;
    *response_out = response;
    return SD_OK;
}
