/*
 * The byte level: blocking-with-deadline I/O on a non-blocking socket and
 * the frame format [4-byte big-endian length][support.rpc.v1.Frame].
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

int64_t sd__now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

sd_deadline sd__deadline_after(int timeout_ms) {
    return sd__now_ms() + (timeout_ms > 0 ? timeout_ms : SD_DEFAULT_TIMEOUT_MS);
}

int sd__fail(sd_result *result, int code, const char *format, ...) {
    if (result == NULL) return code;
    char buffer[512];
    va_list arguments;
    va_start(arguments, format);
    vsnprintf(buffer, sizeof buffer, format, arguments);
    va_end(arguments);
    sd_result_free(result);
    result->code = code;
    result->message = strdup(buffer);
    return code;
}

void sd__break(sd_client *client, int code, const char *reason) {
    if (client->broken) return;
    client->broken = true;
    client->broken_code = code;
    snprintf(client->broken_reason, sizeof client->broken_reason, "%s", reason);
    /* Nothing more will be read or written; the peer sees EOF now rather than
     * at sd_close. */
    shutdown(client->fd, SHUT_RDWR);
}

/* Waits until fd is ready for `events` or the deadline passes. Returns 1
 * when ready, 0 at the deadline, -1 with errno on a poll error. */
static int wait_ready(int fd, short events, sd_deadline deadline) {
    for (;;) {
        int64_t remaining = deadline - sd__now_ms();
        if (remaining <= 0) return 0;
        struct pollfd pfd = { .fd = fd, .events = events, .revents = 0 };
        int ready = poll(&pfd, 1, remaining > 60000 ? 60000 : (int)remaining);
        if (ready > 0) return 1;
        if (ready < 0 && errno != EINTR) return -1;
    }
}

int sd__write_all(sd_client *client, const uint8_t *buf, size_t len, sd_deadline deadline, size_t *written,
                  sd_result *result) {
    *written = 0;
    while (*written < len) {
        ssize_t sent = send(client->fd, buf + *written, len - *written, MSG_NOSIGNAL);
        if (sent > 0) {
            *written += (size_t)sent;
            continue;
        }
        if (sent < 0 && errno == EINTR) continue;
        if (sent < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            int ready = wait_ready(client->fd, POLLOUT, deadline);
            if (ready == 1) continue;
            if (ready == 0) {
                return sd__fail(result, SD_DEADLINE_EXCEEDED, "the timeout passed while sending (%zu of %zu bytes sent)",
                                *written, len);
            }
        }
        if (errno == EPIPE || errno == ECONNRESET) {
            return sd__fail(result, SD_UNAVAILABLE, "the server closed the connection while the request was sent (%zu of %zu bytes)",
                            *written, len);
        }
        return sd__fail(result, SD_UNAVAILABLE, "the connection failed while sending: %s", strerror(errno));
    }
    return SD_OK;
}

int sd__write_frame(sd_client *client, const Support__Rpc__V1__Frame *frame, sd_deadline deadline,
                    size_t *written, sd_result *result) {
    *written = 0;
    size_t body = support__rpc__v1__frame__get_packed_size(frame);
    if (body > SD_MAX_FRAME_BYTES) {
        return sd__fail(result, SD_RESOURCE_EXHAUSTED,
                        "the request frame is %zu bytes, above the %u-byte maximum; send less per call", body,
                        SD_MAX_FRAME_BYTES);
    }
    uint8_t *bytes = malloc(4 + body);
    if (bytes == NULL) return sd__fail(result, SD_RESOURCE_EXHAUSTED, "out of memory for a %zu-byte frame", body);
    bytes[0] = (uint8_t)(body >> 24);
    bytes[1] = (uint8_t)(body >> 16);
    bytes[2] = (uint8_t)(body >> 8);
    bytes[3] = (uint8_t)body;
    support__rpc__v1__frame__pack(frame, bytes + 4);
    int code = sd__write_all(client, bytes, 4 + body, deadline, written, result);
    free(bytes);
    return code;
}

/* Reads exactly len bytes. *got says how many arrived before a failure. */
static int read_exact(sd_client *client, uint8_t *buf, size_t len, sd_deadline deadline, size_t *got,
                      const char *what, size_t frame_offset, size_t frame_total, sd_result *result) {
    *got = 0;
    while (*got < len) {
        ssize_t count = recv(client->fd, buf + *got, len - *got, 0);
        if (count > 0) {
            *got += (size_t)count;
            continue;
        }
        if (count == 0 || (count < 0 && errno == ECONNRESET)) {
            if (frame_offset + *got == 0) {
                return sd__fail(result, SD_UNAVAILABLE, "the server closed the connection");
            }
            return sd__fail(result, SD_UNAVAILABLE,
                            "the server closed the connection in the middle of a frame (%s: %zu of %zu bytes)", what,
                            frame_offset + *got, frame_total);
        }
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            int ready = wait_ready(client->fd, POLLIN, deadline);
            if (ready == 1) continue;
            if (ready == 0) return sd__fail(result, SD_DEADLINE_EXCEEDED, "the timeout passed waiting for the response");
        }
        return sd__fail(result, SD_UNAVAILABLE, "the connection failed while receiving: %s", strerror(errno));
    }
    return SD_OK;
}

int sd__read_frame(sd_client *client, sd_deadline deadline, Support__Rpc__V1__Frame **frame_out, bool *partial,
                   sd_result *result) {
    *frame_out = NULL;
    *partial = false;
    uint8_t header[4];
    size_t got = 0;
    int code = read_exact(client, header, sizeof header, deadline, &got, "length", 0, 4, result);
    if (code != SD_OK) {
        *partial = got > 0;
        return code;
    }
    uint32_t length = (uint32_t)header[0] << 24 | (uint32_t)header[1] << 16 | (uint32_t)header[2] << 8 | header[3];
    if (length == 0) {
        return sd__fail(result, SD_INTERNAL, "the server sent a frame of length 0; every frame carries a message");
    }
    if (length > SD_MAX_FRAME_BYTES) {
        return sd__fail(result, SD_RESOURCE_EXHAUSTED,
                        "the server announced a frame of %u bytes, above the %u-byte maximum; refused unread", length,
                        SD_MAX_FRAME_BYTES);
    }
    uint8_t *body = malloc(length);
    if (body == NULL) return sd__fail(result, SD_RESOURCE_EXHAUSTED, "out of memory for a %u-byte frame", length);
    code = read_exact(client, body, length, deadline, &got, "body", 4, 4 + (size_t)length, result);
    if (code != SD_OK) {
        free(body);
        *partial = true;
        return code;
    }
    Support__Rpc__V1__Frame *frame = support__rpc__v1__frame__unpack(NULL, length, body);
    free(body);
    if (frame == NULL) {
        return sd__fail(result, SD_INTERNAL, "the server sent %u bytes that are not a support.rpc.v1.Frame", length);
    }
    *frame_out = frame;
    return SD_OK;
}

static char *copy_string(const char *text) { return strdup(text != NULL ? text : ""); }

/* Fills the result from a Response (the caller checked its call id). */
static int take_response(const Support__Rpc__V1__Response *response, sd_result *result) {
    sd_result_free(result);
    const Support__Rpc__V1__Status *status = response->status;
    result->code = status != NULL ? status->code : SD_OK;
    result->message = copy_string(status != NULL ? status->message : "");
    if (status != NULL && status->n_details > 0 && status->details[0] != NULL) {
        result->detail_reason = copy_string(status->details[0]->reason);
        result->detail_field = copy_string(status->details[0]->field);
    }
    if (result->code == SD_OK && response->payload.len > 0) {
        result->payload = malloc(response->payload.len);
        if (result->payload == NULL) {
            return sd__fail(result, SD_RESOURCE_EXHAUSTED, "out of memory for a %zu-byte response",
                            response->payload.len);
        }
        memcpy(result->payload, response->payload.data, response->payload.len);
        result->payload_len = response->payload.len;
    }
    return result->code;
}

/* Answers a server's Ping on the same connection. */
static int answer_ping(sd_client *client, uint64_t nonce, sd_deadline deadline, sd_result *result) {
    Support__Rpc__V1__Pong pong = SUPPORT__RPC__V1__PONG__INIT;
    pong.nonce = nonce;
    Support__Rpc__V1__Frame frame = SUPPORT__RPC__V1__FRAME__INIT;
    frame.kind_case = SUPPORT__RPC__V1__FRAME__KIND_PONG;
    frame.pong = &pong;
    size_t written = 0;
    int code = sd__write_frame(client, &frame, deadline, &written, result);
    if (code != SD_OK && written > 0) sd__break(client, code, "a Pong was only partly sent");
    return code;
}

int sd__await_response(sd_client *client, uint64_t call_id, sd_deadline deadline, sd_result *result) {
    for (;;) {
        Support__Rpc__V1__Frame *frame = NULL;
        bool partial = false;
        int code = sd__read_frame(client, deadline, &frame, &partial, result);
        if (code != SD_OK) {
            /* A timeout with nothing of the next frame read leaves the stream
             * aligned: the connection survives. Everything else does not. */
            if (!(code == SD_DEADLINE_EXCEEDED && !partial)) {
                sd__break(client, code == SD_DEADLINE_EXCEEDED ? SD_UNAVAILABLE : code,
                          result != NULL && result->message != NULL ? result->message : "the connection failed");
            }
            return code;
        }
        switch (frame->kind_case) {
        case SUPPORT__RPC__V1__FRAME__KIND_RESPONSE:
            if (frame->response != NULL && frame->response->call_id == call_id) {
                code = take_response(frame->response, result);
                support__rpc__v1__frame__free_unpacked(frame, NULL);
                return code;
            }
            /* The late answer to an earlier call that timed out: skip it. */
            break;
        case SUPPORT__RPC__V1__FRAME__KIND_PING: {
            uint64_t nonce = frame->ping != NULL ? frame->ping->nonce : 0;
            support__rpc__v1__frame__free_unpacked(frame, NULL);
            code = answer_ping(client, nonce, deadline, result);
            if (code != SD_OK) return code;
            continue;
        }
        case SUPPORT__RPC__V1__FRAME__KIND_GO_AWAY: {
            const Support__Rpc__V1__GoAway *go_away = frame->go_away;
            const Support__Rpc__V1__Status *status = go_away != NULL ? go_away->status : NULL;
            int reported = status != NULL && status->code != SD_OK ? status->code : SD_UNAVAILABLE;
            const char *why = status != NULL && status->message != NULL && status->message[0] ? status->message
                                                                                              : "no reason given";
            uint64_t last = go_away != NULL ? go_away->last_call_id : 0;
            char reason[160];
            snprintf(reason, sizeof reason, "the server is closing the connection (GoAway: %s)", why);
            /* The server finishes calls up to last_call_id; later ones were
             * not processed. No new call goes out on this connection. */
            support__rpc__v1__frame__free_unpacked(frame, NULL);
            if (call_id > last) {
                sd__break(client, reported, reason);
                return sd__fail(result, reported, "%s", reason);
            }
            client->broken = true; /* but keep reading: this call's answer is coming */
            client->broken_code = reported;
            snprintf(client->broken_reason, sizeof client->broken_reason, "%s", reason);
            continue;
        }
        default:
            /* Pong, Cancel, Request or an unknown kind: nothing a client acts on. */
            break;
        }
        support__rpc__v1__frame__free_unpacked(frame, NULL);
    }
}
