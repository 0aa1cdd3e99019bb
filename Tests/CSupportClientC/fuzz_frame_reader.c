/*
 * libFuzzer harness for the C client's frame reader: the fuzzer's bytes are
 * what a server sends. They go into one end of a socketpair, the client
 * reads them on the other end exactly as it reads a service's answers
 * (length prefix, 4 MiB limit, body, Frame decoding, Responses for other
 * calls, Pings answered with Pongs, GoAway), waiting for the answers to
 * calls 1, 2 and 3. Whatever the bytes, every wait must end with a status
 * code and a consistent result, without a sanitizer report.
 *
 * Built by scripts/check-c-client with -fsanitize=fuzzer,address,undefined.
 */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    int pair[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0) abort();
    /* The server side: everything at once, then end of file. Inputs are far
     * below the socket buffer (-max_len), so this never blocks. */
    size_t sent = 0;
    while (sent < size) {
        ssize_t n = send(pair[1], data + sent, size - sent, MSG_NOSIGNAL);
        if (n <= 0) abort();
        sent += (size_t)n;
    }
    shutdown(pair[1], SHUT_WR);

    sd_client *client = sd__client_adopt(pair[0]);
    if (client == NULL) abort();
    sd_result result = SD_RESULT_INIT;
    for (uint64_t call_id = 1; call_id <= 3; call_id++) {
        if (client->broken) break;
        int code = sd__await_response(client, call_id, sd__deadline_after(1000), &result);
        /* A status always comes with its message; a payload only with OK. */
        if (code != result.code || result.message == NULL) abort();
        if (code != SD_OK && (result.payload != NULL || result.payload_len != 0)) abort();
        if ((result.payload == NULL) != (result.payload_len == 0)) abort();
        /* End of input is end of file, never a timeout. */
        if (code == SD_DEADLINE_EXCEEDED) abort();
    }
    sd_result_free(&result);
    sd_close(client);
    close(pair[1]);
    return 0;
}
