/*
 * Internal to the library and its own tests (Tests/CSupportClientC): the
 * connection state and the frame reader, exposed so that the fuzzer and the
 * sanitizer driver can run them over a socketpair.
 */
#ifndef SUPPORTDESK_CLIENT_INTERNAL_H
#define SUPPORTDESK_CLIENT_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "supportdesk_client.h"

/* A point in CLOCK_MONOTONIC milliseconds; every wait is against one, so a
 * retried EINTR or a partial read never extends a call's timeout. */
typedef int64_t sd_deadline;

int64_t sd__now_ms(void);
sd_deadline sd__deadline_after(int timeout_ms);

struct sd_client {
    int fd;
    uint64_t next_call_id;
    /* Set once the byte stream can no longer be trusted (half a frame sent
     * or read, a protocol error, EOF) or the server said GoAway: every later
     * call fails at once with broken_code / broken_reason. */
    bool broken;
    int broken_code;
    char broken_reason[160];
};

/* Wraps an already connected stream socket (made non-blocking here). */
sd_client *sd__client_adopt(int fd);

/* Sets the result to `code` with a printf-formatted message; returns code. */
int sd__fail(sd_result *result, int code, const char *format, ...) __attribute__((format(printf, 3, 4)));

/* Marks the connection unusable; later calls report code and the reason. */
void sd__break(sd_client *client, int code, const char *reason);

/* Writes all of buf before the deadline. Returns SD_OK, or a code with the
 * result filled; *written says how much went out (for deciding whether the
 * stream is still aligned on a frame boundary). */
int sd__write_all(sd_client *client, const uint8_t *buf, size_t len, sd_deadline deadline, size_t *written,
                  sd_result *result);

/* Packs `frame` with its length prefix and writes it. */
int sd__write_frame(sd_client *client, const Support__Rpc__V1__Frame *frame, sd_deadline deadline,
                    size_t *written, sd_result *result);

/* Reads one frame: the length (refusing 0 and > SD_MAX_FRAME_BYTES before
 * reading the body), the body, and unpacks it. On SD_OK *frame_out must be
 * freed with support__rpc__v1__frame__free_unpacked. *partial says whether
 * some but not all of the frame was read when it failed. */
int sd__read_frame(sd_client *client, sd_deadline deadline, Support__Rpc__V1__Frame **frame_out, bool *partial,
                   sd_result *result);

/* Waits for the Response to call_id, skipping other calls' responses and
 * answering Pings. Fills result (status, message, details, payload). */
int sd__await_response(sd_client *client, uint64_t call_id, sd_deadline deadline, sd_result *result);

#endif
