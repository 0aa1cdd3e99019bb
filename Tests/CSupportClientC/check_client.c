/*
 * The C client against scripted fake services, built by scripts/check-c-client
 * under AddressSanitizer and UndefinedBehaviorSanitizer: every path that
 * ends a call — answers, errors, half frames, absurd lengths, GoAway,
 * timeouts, signals — must give a status code and leak nothing.
 *
 * Prints "N passed, N failed" and exits non-zero on any failure.
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "fake_server.h"
#include "supportdesk_client.h"

static int passed, failed;

#define CHECK(condition, ...)                                                                                   \
    do {                                                                                                        \
        if (condition) {                                                                                        \
            passed++;                                                                                           \
        } else {                                                                                                \
            failed++;                                                                                           \
            fprintf(stderr, "FAIL %s:%d: %s: ", __func__, __LINE__, #condition);                                \
            fprintf(stderr, __VA_ARGS__);                                                                       \
            fprintf(stderr, "\n");                                                                              \
        }                                                                                                       \
    } while (0)

static int64_t now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Connects to a fake running `script`. */
static sd_client *start(fake_server *server, fake_script script) {
    if (fake_start(server, script) != 0) return NULL;
    sd_client *client = NULL;
    sd_result result = SD_RESULT_INIT;
    int code = sd_connect(server->path, 2000, &client, &result);
    CHECK(code == SD_OK, "connect: %s %s", sd_code_name(code), result.message);
    sd_result_free(&result);
    return client;
}

static int finish(fake_server *server, sd_client *client) {
    sd_close(client);
    int status = fake_finish(server);
    CHECK(status == 0, "the fake server's script failed with %d", status);
    return status;
}

static int call(sd_client *client, const char *payload, int timeout_ms, sd_result *result) {
    sd_call_options options = { timeout_ms, NULL, 0 };
    return sd_call(client, "/test.v1.Fake/Echo", (const uint8_t *)payload, payload ? strlen(payload) : 0, &options,
                   result);
}

/* --- scripts (run in the child) ------------------------------------------- */

static int script_echo(int fd) {
    Support__Rpc__V1__Frame *frame = fake_read_frame(fd);
    if (frame == NULL || frame->kind_case != SUPPORT__RPC__V1__FRAME__KIND_REQUEST) return 1;
    Support__Rpc__V1__Request *request = frame->request;
    int bad = strcmp(request->method, "/test.v1.Fake/Echo") != 0 || request->call_id != 1 ||
              request->timeout_ms != 1500 || request->n_metadata != 2 ||
              strcmp(request->metadata[0]->key, "idempotency.key") != 0 ||
              strcmp(request->metadata[1]->value, "portal-42") != 0;
    uint8_t reversed[64];
    size_t len = request->payload.len < sizeof reversed ? request->payload.len : sizeof reversed;
    for (size_t i = 0; i < len; i++) reversed[i] = request->payload.data[len - 1 - i];
    fake_respond(fd, request->call_id, 0, "", reversed, len);
    support__rpc__v1__frame__free_unpacked(frame, NULL);
    return bad ? 2 : 0;
}

static int script_not_found(int fd) {
    Support__Rpc__V1__Frame *frame = fake_read_frame(fd);
    if (frame == NULL) return 1;
    Support__Rpc__V1__StatusDetail detail = SUPPORT__RPC__V1__STATUS_DETAIL__INIT;
    detail.reason = "INCIDENT_UNKNOWN";
    detail.field = "incident_id";
    Support__Rpc__V1__StatusDetail *details[] = { &detail };
    Support__Rpc__V1__Status status = SUPPORT__RPC__V1__STATUS__INIT;
    status.code = SD_NOT_FOUND;
    status.message = "no incident INC-999999; list them with supportctl incident list";
    status.n_details = 1;
    status.details = details;
    Support__Rpc__V1__Response response = SUPPORT__RPC__V1__RESPONSE__INIT;
    response.call_id = frame->request->call_id;
    response.status = &status;
    Support__Rpc__V1__Frame reply = SUPPORT__RPC__V1__FRAME__INIT;
    reply.kind_case = SUPPORT__RPC__V1__FRAME__KIND_RESPONSE;
    reply.response = &response;
    support__rpc__v1__frame__free_unpacked(frame, NULL);
    return fake_write_frame(fd, &reply) == 0 ? 0 : 2;
}

/* An answer for another call, a Ping that must be answered, then ours,
 * written one byte at a time. */
static int script_interleaved(int fd) {
    Support__Rpc__V1__Frame *frame = fake_read_frame(fd);
    if (frame == NULL) return 1;
    uint64_t id = frame->request->call_id;
    support__rpc__v1__frame__free_unpacked(frame, NULL);
    fake_respond(fd, id + 98, 0, "", (const uint8_t *)"not yours", 9);
    Support__Rpc__V1__Ping ping = SUPPORT__RPC__V1__PING__INIT;
    ping.nonce = 7;
    Support__Rpc__V1__Frame ping_frame = SUPPORT__RPC__V1__FRAME__INIT;
    ping_frame.kind_case = SUPPORT__RPC__V1__FRAME__KIND_PING;
    ping_frame.ping = &ping;
    fake_write_frame(fd, &ping_frame);
    Support__Rpc__V1__Frame *pong = fake_read_frame(fd);
    int bad = pong == NULL || pong->kind_case != SUPPORT__RPC__V1__FRAME__KIND_PONG || pong->pong->nonce != 7;
    if (pong) support__rpc__v1__frame__free_unpacked(pong, NULL);
    /* Our answer, byte by byte: the client must assemble partial reads. */
    Support__Rpc__V1__Response response = SUPPORT__RPC__V1__RESPONSE__INIT;
    Support__Rpc__V1__Status status = SUPPORT__RPC__V1__STATUS__INIT;
    response.call_id = id;
    response.status = &status;
    response.payload.data = (uint8_t *)"yours";
    response.payload.len = 5;
    Support__Rpc__V1__Frame reply = SUPPORT__RPC__V1__FRAME__INIT;
    reply.kind_case = SUPPORT__RPC__V1__FRAME__KIND_RESPONSE;
    reply.response = &response;
    size_t len = support__rpc__v1__frame__get_packed_size(&reply);
    uint8_t bytes[64] = { 0, 0, 0, (uint8_t)len };
    support__rpc__v1__frame__pack(&reply, bytes + 4);
    for (size_t i = 0; i < len + 4; i++) {
        fake_write(fd, bytes + i, 1);
        usleep(2000);
    }
    return bad ? 2 : 0;
}

static int script_half_frame(int fd) {
    Support__Rpc__V1__Frame *frame = fake_read_frame(fd);
    if (frame == NULL) return 1;
    support__rpc__v1__frame__free_unpacked(frame, NULL);
    uint8_t bytes[14] = { 0, 0, 0, 100, 0x12, 0x05 };
    return fake_write(fd, bytes, sizeof bytes) == 0 ? 0 : 2; /* then close */
}

static int script_oversized(int fd) {
    Support__Rpc__V1__Frame *frame = fake_read_frame(fd);
    if (frame == NULL) return 1;
    support__rpc__v1__frame__free_unpacked(frame, NULL);
    uint8_t header[4] = { 0x7f, 0xff, 0xff, 0xff };
    fake_write(fd, header, 4);
    usleep(200 * 1000); /* the client must refuse without waiting for the body */
    return 0;
}

static int script_zero_length(int fd) {
    Support__Rpc__V1__Frame *frame = fake_read_frame(fd);
    if (frame == NULL) return 1;
    support__rpc__v1__frame__free_unpacked(frame, NULL);
    uint8_t header[4] = { 0, 0, 0, 0 };
    return fake_write(fd, header, 4);
}

static int script_garbage(int fd) {
    Support__Rpc__V1__Frame *frame = fake_read_frame(fd);
    if (frame == NULL) return 1;
    support__rpc__v1__frame__free_unpacked(frame, NULL);
    uint8_t bytes[9] = { 0, 0, 0, 5, 0xff, 0xff, 0xff, 0xff, 0xff };
    return fake_write(fd, bytes, sizeof bytes);
}

static int go_away(int fd, uint64_t last_call_id) {
    Support__Rpc__V1__Status status = SUPPORT__RPC__V1__STATUS__INIT;
    status.code = SD_UNAVAILABLE;
    status.message = "intake is draining";
    Support__Rpc__V1__GoAway away = SUPPORT__RPC__V1__GO_AWAY__INIT;
    away.status = &status;
    away.last_call_id = last_call_id;
    Support__Rpc__V1__Frame frame = SUPPORT__RPC__V1__FRAME__INIT;
    frame.kind_case = SUPPORT__RPC__V1__FRAME__KIND_GO_AWAY;
    frame.go_away = &away;
    return fake_write_frame(fd, &frame);
}

static int script_go_away_before(int fd) {
    Support__Rpc__V1__Frame *frame = fake_read_frame(fd);
    if (frame == NULL) return 1;
    support__rpc__v1__frame__free_unpacked(frame, NULL);
    return go_away(fd, 0);
}

static int script_go_away_after(int fd) {
    Support__Rpc__V1__Frame *frame = fake_read_frame(fd);
    if (frame == NULL) return 1;
    uint64_t id = frame->request->call_id;
    support__rpc__v1__frame__free_unpacked(frame, NULL);
    go_away(fd, id);
    fake_respond(fd, id, 0, "", (const uint8_t *)"finished", 8);
    /* Nothing more may arrive: the client must not send on a closing connection. */
    frame = fake_read_frame(fd);
    int bad = frame != NULL;
    if (frame) support__rpc__v1__frame__free_unpacked(frame, NULL);
    return bad ? 2 : 0;
}

/* Call 1 is never answered in time: the client must Cancel it and carry on
 * with call 2, skipping call 1's late answer. */
static int script_timeout(int fd) {
    Support__Rpc__V1__Frame *first = fake_read_frame(fd);
    if (first == NULL) return 1;
    Support__Rpc__V1__Frame *cancel = fake_read_frame(fd);
    int bad = cancel == NULL || cancel->kind_case != SUPPORT__RPC__V1__FRAME__KIND_CANCEL ||
              cancel->cancel->call_id != first->request->call_id;
    Support__Rpc__V1__Frame *second = fake_read_frame(fd);
    bad |= second == NULL || second->kind_case != SUPPORT__RPC__V1__FRAME__KIND_REQUEST;
    if (!bad) {
        fake_respond(fd, first->request->call_id, SD_CANCELLED, "cancelled", NULL, 0);
        fake_respond(fd, second->request->call_id, 0, "", (const uint8_t *)"second", 6);
    }
    support__rpc__v1__frame__free_unpacked(first, NULL);
    if (cancel) support__rpc__v1__frame__free_unpacked(cancel, NULL);
    if (second) support__rpc__v1__frame__free_unpacked(second, NULL);
    return bad ? 2 : 0;
}

/* A 3 MiB request: more than the socket buffer, so the client's writes are
 * partial and must wait for POLLOUT. */
static int script_large(int fd) {
    usleep(100 * 1000);
    Support__Rpc__V1__Frame *frame = fake_read_frame(fd);
    if (frame == NULL) return 1;
    size_t len = frame->request->payload.len;
    int bad = len != 3u * 1024 * 1024 || frame->request->payload.data[len - 1] != 'z';
    char answer[32];
    snprintf(answer, sizeof answer, "%zu", len);
    fake_respond(fd, frame->request->call_id, 0, "", (const uint8_t *)answer, strlen(answer));
    support__rpc__v1__frame__free_unpacked(frame, NULL);
    return bad ? 2 : 0;
}

static int script_close_at_once(int fd) {
    (void)fd;
    return 0;
}

static int script_health(int fd) {
    Support__Rpc__V1__Frame *frame = fake_read_frame(fd);
    if (frame == NULL) return 1;
    int bad = strcmp(frame->request->method, "/support.health.v1.Health/Check") != 0;
    Support__Health__V1__CheckResponse response = SUPPORT__HEALTH__V1__CHECK_RESPONSE__INIT;
    response.status = SUPPORT__HEALTH__V1__CHECK_RESPONSE__SERVING_STATUS__SERVING;
    uint8_t bytes[16];
    size_t len = support__health__v1__check_response__pack(&response, bytes);
    fake_respond(fd, frame->request->call_id, 0, "", bytes, len);
    support__rpc__v1__frame__free_unpacked(frame, NULL);
    /* The second call gets a payload that is no CheckResponse. */
    frame = fake_read_frame(fd);
    if (frame == NULL) return 3;
    fake_respond(fd, frame->request->call_id, 0, "", (const uint8_t *)"\xff\xff\xff", 3);
    support__rpc__v1__frame__free_unpacked(frame, NULL);
    return bad ? 2 : 0;
}

/* --- tests (run in the parent) --------------------------------------------- */

static void test_echo(void) {
    fake_server server;
    sd_client *client = start(&server, script_echo);
    sd_metadata metadata[] = { { "idempotency.key", "k-1" }, { "request.id", "portal-42" } };
    sd_call_options options = { 1500, metadata, 2 };
    sd_result result = SD_RESULT_INIT;
    int code = sd_call(client, "/test.v1.Fake/Echo", (const uint8_t *)"abc", 3, &options, &result);
    CHECK(code == SD_OK && result.code == SD_OK, "%s %s", sd_code_name(code), result.message);
    CHECK(result.payload_len == 3 && memcmp(result.payload, "cba", 3) == 0, "payload %zu", result.payload_len);
    CHECK(result.message != NULL && result.message[0] == '\0', "message on OK");
    sd_result_free(&result);
    finish(&server, client);
}

static void test_error_status(void) {
    fake_server server;
    sd_client *client = start(&server, script_not_found);
    sd_result result = SD_RESULT_INIT;
    int code = call(client, "x", 0, &result);
    CHECK(code == SD_NOT_FOUND, "%s", sd_code_name(code));
    CHECK(result.message && strstr(result.message, "no incident INC-999999"), "%s", result.message);
    CHECK(result.detail_reason && strcmp(result.detail_reason, "INCIDENT_UNKNOWN") == 0, "reason");
    CHECK(result.detail_field && strcmp(result.detail_field, "incident_id") == 0, "field");
    CHECK(result.payload == NULL && result.payload_len == 0, "no payload on an error");
    sd_result_free(&result);
    finish(&server, client);
}

static volatile sig_atomic_t alarms;
static void on_alarm(int signal) {
    (void)signal;
    alarms++;
}

static void test_interleaved_with_signals(void) {
    /* A timer interrupting every millisecond, without SA_RESTART: every
     * poll, recv and send sees EINTR many times. */
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = on_alarm;
    sigaction(SIGALRM, &action, NULL);
    struct itimerval every_ms = { { 0, 1000 }, { 0, 1000 } };
    setitimer(ITIMER_REAL, &every_ms, NULL);

    fake_server server;
    sd_client *client = start(&server, script_interleaved);
    sd_result result = SD_RESULT_INIT;
    int code = call(client, "x", 5000, &result);
    CHECK(code == SD_OK, "%s %s", sd_code_name(code), result.message);
    CHECK(result.payload_len == 5 && memcmp(result.payload, "yours", 5) == 0, "took another call's answer");
    sd_result_free(&result);

    struct itimerval off = { { 0, 0 }, { 0, 0 } };
    setitimer(ITIMER_REAL, &off, NULL);
    CHECK(alarms > 10, "only %d signals arrived", (int)alarms);
    finish(&server, client);
}

static void expect_broken(fake_script script, int expected, const char *words) {
    fake_server server;
    sd_client *client = start(&server, script);
    sd_result result = SD_RESULT_INIT;
    int64_t started = now_ms();
    int code = call(client, "x", 3000, &result);
    CHECK(code == expected, "%s, not %s: %s", sd_code_name(code), sd_code_name(expected), result.message);
    CHECK(result.message && strstr(result.message, words), "\"%s\" lacks \"%s\"", result.message, words);
    CHECK(now_ms() - started < 1000, "took %lld ms", (long long)(now_ms() - started));
    code = call(client, "again", 3000, &result);
    CHECK(code != SD_OK && result.message && strstr(result.message, "connection is closed"),
          "a second call on a broken connection: %s %s", sd_code_name(code), result.message);
    sd_result_free(&result);
    finish(&server, client);
}

static void test_broken_streams(void) {
    expect_broken(script_half_frame, SD_UNAVAILABLE, "middle of a frame");
    expect_broken(script_oversized, SD_RESOURCE_EXHAUSTED, "2147483647 bytes");
    expect_broken(script_zero_length, SD_INTERNAL, "length 0");
    expect_broken(script_garbage, SD_INTERNAL, "not a support.rpc.v1.Frame");
    expect_broken(script_go_away_before, SD_UNAVAILABLE, "intake is draining");
    expect_broken(script_close_at_once, SD_UNAVAILABLE, "closed the connection");
}

static void test_go_away_covering_the_call(void) {
    fake_server server;
    sd_client *client = start(&server, script_go_away_after);
    sd_result result = SD_RESULT_INIT;
    int code = call(client, "x", 3000, &result);
    CHECK(code == SD_OK && result.payload_len == 8, "%s %s", sd_code_name(code), result.message);
    code = call(client, "x", 3000, &result);
    CHECK(code == SD_UNAVAILABLE && strstr(result.message, "draining"), "%s %s", sd_code_name(code), result.message);
    sd_result_free(&result);
    finish(&server, client);
}

static void test_timeout_cancels_and_survives(void) {
    fake_server server;
    sd_client *client = start(&server, script_timeout);
    sd_result result = SD_RESULT_INIT;
    int64_t started = now_ms();
    int code = call(client, "slow", 200, &result);
    int64_t took = now_ms() - started;
    CHECK(code == SD_DEADLINE_EXCEEDED, "%s %s", sd_code_name(code), result.message);
    CHECK(took >= 190 && took < 1000, "the 200 ms timeout took %lld ms", (long long)took);
    code = call(client, "fast", 3000, &result);
    CHECK(code == SD_OK && result.payload_len == 6 && memcmp(result.payload, "second", 6) == 0, "%s %s",
          sd_code_name(code), result.message);
    sd_result_free(&result);
    finish(&server, client);
}

static void test_large_request(void) {
    fake_server server;
    sd_client *client = start(&server, script_large);
    size_t len = 3u * 1024 * 1024;
    uint8_t *big = malloc(len);
    memset(big, 'z', len);
    sd_result result = SD_RESULT_INIT;
    int code = sd_call(client, "/test.v1.Fake/Big", big, len, NULL, &result);
    CHECK(code == SD_OK && result.payload_len == 7 && memcmp(result.payload, "3145728", 7) == 0, "%s %s",
          sd_code_name(code), result.message);
    free(big);
    sd_result_free(&result);
    finish(&server, client);
}

static void test_refusals_before_sending(void) {
    sd_result result = SD_RESULT_INIT;
    sd_client *client = NULL;
    CHECK(sd_connect("/tmp/sd-no-such-dir/x.sock", 500, &client, &result) == SD_UNAVAILABLE && client == NULL,
          "%s", result.message);
    CHECK(strstr(result.message, "No such file"), "%s", result.message);
    char long_path[200];
    memset(long_path, 'a', sizeof long_path - 1);
    long_path[sizeof long_path - 1] = '\0';
    CHECK(sd_connect(long_path, 500, &client, &result) == SD_INVALID_ARGUMENT, "%s", result.message);
    CHECK(sd_connect("", 500, &client, &result) == SD_INVALID_ARGUMENT, "%s", result.message);
    CHECK(sd_connect(NULL, 500, &client, NULL) == SD_INVALID_ARGUMENT, "NULL path, NULL result");
    CHECK(sd_call(NULL, "/a/b", NULL, 0, NULL, &result) == SD_INVALID_ARGUMENT, "NULL client");
    CHECK(sd_call(NULL, "/a/b", NULL, 0, NULL, NULL) == SD_INVALID_ARGUMENT, "NULL result");
    CHECK(strcmp(sd_code_name(SD_FAILED_PRECONDITION), "FAILED_PRECONDITION") == 0, "code names");
    CHECK(strcmp(sd_code_name(99), "UNKNOWN_CODE") == 0 && strcmp(sd_code_name(-1), "UNKNOWN_CODE") == 0, "names");
    sd_result_free(&result);
    sd_result_free(NULL);
    sd_close(NULL);

    fake_server server;
    client = start(&server, script_echo);
    uint8_t *huge = calloc(SD_MAX_FRAME_BYTES + 1, 1);
    CHECK(sd_call(client, "/a/b", huge, SD_MAX_FRAME_BYTES + 1, NULL, &result) == SD_RESOURCE_EXHAUSTED, "%s",
          result.message);
    free(huge);
    sd_metadata bad[] = { { "key", NULL } };
    sd_call_options options = { 0, bad, 1 };
    CHECK(sd_call(client, "/a/b", NULL, 0, &options, &result) == SD_INVALID_ARGUMENT, "%s", result.message);
    CHECK(sd_call(client, "", NULL, 0, NULL, &result) == SD_INVALID_ARGUMENT, "%s", result.message);
    /* None of that went out: the connection is still good for a real call. */
    sd_metadata metadata[] = { { "idempotency.key", "k-1" }, { "request.id", "portal-42" } };
    sd_call_options good = { 1500, metadata, 2 };
    CHECK(sd_call(client, "/test.v1.Fake/Echo", (const uint8_t *)"ab", 2, &good, &result) == SD_OK, "%s",
          result.message);
    sd_result_free(&result);
    finish(&server, client);
}

static void test_peer_gone_while_sending(void) {
    fake_server server;
    sd_client *client = start(&server, script_close_at_once);
    /* The peer is gone once the fake server's child has exited (it closed
     * the connection it accepted): wait for that, not for a time. */
    int status = fake_finish(&server);
    CHECK(status == 0, "the fake server's script failed with %d", status);
    size_t len = 3u * 1024 * 1024;
    uint8_t *big = calloc(len, 1);
    sd_result result = SD_RESULT_INIT;
    int code = sd_call(client, "/test.v1.Fake/Big", big, len, NULL, &result);
    CHECK(code == SD_UNAVAILABLE, "%s %s", sd_code_name(code), result.message);
    free(big);
    sd_result_free(&result);
    sd_close(client);
}

static void test_typed_health(void) {
    fake_server server;
    sd_client *client = start(&server, script_health);
    Support__Health__V1__CheckRequest request = SUPPORT__HEALTH__V1__CHECK_REQUEST__INIT;
    Support__Health__V1__CheckResponse *response = NULL;
    sd_result result = SD_RESULT_INIT;
    int code = sd_health_check(client, &request, NULL, &response, &result);
    CHECK(code == SD_OK && response != NULL &&
              response->status == SUPPORT__HEALTH__V1__CHECK_RESPONSE__SERVING_STATUS__SERVING,
          "%s %s", sd_code_name(code), result.message);
    CHECK(result.payload == NULL, "a typed call leaves no payload behind");
    if (response) support__health__v1__check_response__free_unpacked(response, NULL);
    response = NULL;
    code = sd_health_check(client, &request, NULL, &response, &result);
    CHECK(code == SD_INTERNAL && response == NULL && strstr(result.message, "not a valid"), "%s %s",
          sd_code_name(code), result.message);
    sd_result_free(&result);
    finish(&server, client);
}

/* Against a real service: `check_client --live SOCKET` asks Health/Check. */
static int live(const char *socket_path) {
    sd_client *client = NULL;
    sd_result result = SD_RESULT_INIT;
    int code = sd_connect(socket_path, 5000, &client, &result);
    CHECK(code == SD_OK, "%s %s", sd_code_name(code), result.message);
    if (code == SD_OK) {
        Support__Health__V1__CheckRequest request = SUPPORT__HEALTH__V1__CHECK_REQUEST__INIT;
        Support__Health__V1__CheckResponse *response = NULL;
        code = sd_health_check(client, &request, NULL, &response, &result);
        CHECK(code == SD_OK && response->status == SUPPORT__HEALTH__V1__CHECK_RESPONSE__SERVING_STATUS__SERVING,
              "%s %s", sd_code_name(code), result.message);
        if (response) support__health__v1__check_response__free_unpacked(response, NULL);
        code = sd_call(client, "/support.health.v1.Health/NoSuchMethod", NULL, 0, NULL, &result);
        CHECK(code == SD_UNIMPLEMENTED, "%s %s", sd_code_name(code), result.message);
        sd_close(client);
    }
    sd_result_free(&result);
    return failed;
}

int main(int argc, char **argv) {
    if (argc == 3 && strcmp(argv[1], "--live") == 0) {
        live(argv[2]);
    } else {
        test_echo();
        test_error_status();
        test_interleaved_with_signals();
        test_broken_streams();
        test_go_away_covering_the_call();
        test_timeout_cancels_and_survives();
        test_large_request();
        test_refusals_before_sending();
        test_peer_gone_while_sending();
        test_typed_health();
    }
    printf("check_client: %d checks passed, %d checks failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
