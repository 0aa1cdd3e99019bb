/*
 * A scripted fake service for the C client's own tests: a forked child that
 * accepts one connection on a Unix socket and plays one script — including
 * the misbehaviour a real service never shows (half frames, absurd lengths,
 * garbage, GoAway, Pings, answers for other calls).
 */
#ifndef SUPPORTDESK_FAKE_SERVER_H
#define SUPPORTDESK_FAKE_SERVER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "support/v1/rpc.pb-c.h"

/* A script runs in the child with the accepted connection; it returns 0
 * when everything the client sent was as expected. */
typedef int (*fake_script)(int fd);

typedef struct fake_server {
    pid_t pid;
    char path[108];
} fake_server;

/* Binds a fresh socket under /tmp and forks a child running `script` on the
 * first connection. */
int fake_start(fake_server *server, fake_script script);

/* Waits for the child; returns its script's result (non-zero on failure or
 * when it did not finish within 10 s). */
int fake_finish(fake_server *server);

/* Blocking helpers for scripts. */
int fake_write(int fd, const void *bytes, size_t len);
int fake_write_frame(int fd, const Support__Rpc__V1__Frame *frame);
/* NULL on EOF or garbage; free with support__rpc__v1__frame__free_unpacked. */
Support__Rpc__V1__Frame *fake_read_frame(int fd);
/* Writes a Response frame for call_id with a status code and message. */
int fake_respond(int fd, uint64_t call_id, int code, const char *message, const uint8_t *payload, size_t len);

#endif
