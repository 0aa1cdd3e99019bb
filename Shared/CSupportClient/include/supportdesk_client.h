/*
 * supportdesk_client.h — call SupportDesk services from C.
 *
 * A SupportDesk service listens on a Unix socket and speaks length-prefixed
 * protobuf frames (Proto/support/v1/rpc.proto): a 4-byte big-endian length,
 * then one serialized support.rpc.v1.Frame. This library writes and reads
 * those frames for you; you hand it a method name and a request, it hands
 * back a status and a response.
 *
 *     sd_client *client = NULL;
 *     sd_result result = SD_RESULT_INIT;
 *     if (sd_connect("/run/supportdesk/intake.sock", 5000, &client, &result) != SD_OK) {
 *         fprintf(stderr, "%s: %s\n", sd_code_name(result.code), result.message);
 *         sd_result_free(&result);
 *         return 1;
 *     }
 *     Support__Intake__V1__GetIncidentRequest request = SUPPORT__INTAKE__V1__GET_INCIDENT_REQUEST__INIT;
 *     request.incident_id = "INC-000001";
 *     Support__Intake__V1__Incident *incident = NULL;
 *     if (sd_intake_get_incident(client, &request, NULL, &incident, &result) == SD_OK) {
 *         printf("%s: %s\n", incident->id, incident->title);
 *         support__intake__v1__incident__free_unpacked(incident, NULL);
 *     } else {
 *         fprintf(stderr, "%s: %s\n", sd_code_name(result.code), result.message);
 *     }
 *     sd_result_free(&result);
 *     sd_close(client);
 *
 * Building: compile the .c files of src/ and generated/ with include/ and generated/
 * on the include path, and link -lprotobuf-c (pkg-config libprotobuf-c).
 * Within this repository SwiftPM does that (targets CSupportClient and
 * CSupportProto).
 *
 * Status codes. Every function that can fail returns an sd_code: gRPC's
 * canonical codes with gRPC's numbers. A code from the server is passed on
 * unchanged (it may be a number this header does not name: codes are int32
 * on the wire). The library itself produces these, and only these:
 *
 *   SD_OK                  the call completed; the response is in the result.
 *   SD_INVALID_ARGUMENT    a NULL client, method or result pointer; an empty
 *                          method; a metadata entry with a NULL key or value;
 *                          a socket path that is empty or longer than a Unix
 *                          socket address holds (107 bytes).
 *   SD_DEADLINE_EXCEEDED   the timeout passed while connecting, writing the
 *                          request or waiting for the response. When nothing
 *                          of a frame was half-written or half-read the
 *                          library sends a Cancel for the call and the
 *                          connection stays usable; otherwise it is closed.
 *   SD_RESOURCE_EXHAUSTED  the request frame would exceed SD_MAX_FRAME_BYTES;
 *                          the server announced a frame above it (refused
 *                          before reading the body; the connection is
 *                          closed); memory ran out.
 *   SD_UNAVAILABLE         the socket could not be reached (no such file,
 *                          connection refused, permission denied: the
 *                          message names errno); the server closed the
 *                          connection, before or in the middle of a frame;
 *                          the connection was already closed by an earlier
 *                          failure; the server sent a GoAway that does not
 *                          cover this call (its status code is reported
 *                          instead when it is not OK).
 *   SD_INTERNAL            the server broke the protocol: a zero-length
 *                          frame, a frame that is not a support.rpc.v1.Frame,
 *                          or (typed calls) a response payload that does not
 *                          decode as the method's response message. The
 *                          connection is closed.
 *
 * A function never aborts or raises a signal: SIGPIPE is suppressed per send
 * (MSG_NOSIGNAL), EINTR is retried without extending the timeout, short
 * reads and writes are continued.
 *
 * Thread-safety. The library has no global mutable state. One sd_client is
 * one connection and must be used by one thread at a time (calls on it are
 * sequential: one request, then its response); give each thread its own
 * client or guard a shared one with a mutex. sd_result values are plain
 * data owned by the caller.
 *
 * Ownership. Strings and buffers you pass in are only read during the call
 * and may be freed when it returns. Everything the library returns is owned
 * by the caller: a client until sd_close, a result's fields until
 * sd_result_free (or until the next call that is given the same result,
 * which frees the previous contents first), a typed response until the
 * generated <message>__free_unpacked(response, NULL).
 */
#ifndef SUPPORTDESK_CLIENT_H
#define SUPPORTDESK_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

#include "support/v1/escalation.pb-c.h"
#include "support/v1/health.pb-c.h"
#include "support/v1/intake.pb-c.h"
#include "support/v1/rpc.pb-c.h"

#ifdef __cplusplus
extern "C" {
#endif

/* gRPC's canonical status codes, with gRPC's numbers (support.rpc.v1.Code). */
typedef enum sd_code {
    SD_OK = 0,
    SD_CANCELLED = 1,
    SD_UNKNOWN = 2,
    SD_INVALID_ARGUMENT = 3,
    SD_DEADLINE_EXCEEDED = 4,
    SD_NOT_FOUND = 5,
    SD_ALREADY_EXISTS = 6,
    SD_PERMISSION_DENIED = 7,
    SD_RESOURCE_EXHAUSTED = 8,
    SD_FAILED_PRECONDITION = 9,
    SD_ABORTED = 10,
    SD_OUT_OF_RANGE = 11,
    SD_UNIMPLEMENTED = 12,
    SD_INTERNAL = 13,
    SD_UNAVAILABLE = 14,
    SD_DATA_LOSS = 15,
    SD_UNAUTHENTICATED = 16
} sd_code;

/* The largest frame body either side sends or accepts: 4 MiB, the services'
 * default --max-frame-bytes. */
#define SD_MAX_FRAME_BYTES (4u * 1024u * 1024u)

/* The timeout used when a call's timeout_ms is 0 or negative. */
#define SD_DEFAULT_TIMEOUT_MS 30000

/* One connection to one service. Opaque; create with sd_connect, release
 * with sd_close. */
typedef struct sd_client sd_client;

/* One metadata pair sent with a request, e.g. {"idempotency.key", "k-1"} or
 * {"request.id", "portal-42"}. Keys are lower-case and dotted. Both strings
 * are borrowed for the duration of the call. */
typedef struct sd_metadata {
    const char *key;
    const char *value;
} sd_metadata;

/* Per-call options. A NULL options pointer means all defaults. */
typedef struct sd_call_options {
    /* Milliseconds the caller waits for the whole call, also sent to the
     * server as the call's deadline; <= 0 means SD_DEFAULT_TIMEOUT_MS. */
    int timeout_ms;
    /* metadata_count entries, or NULL when metadata_count is 0. */
    const sd_metadata *metadata;
    size_t metadata_count;
} sd_call_options;

#define SD_CALL_OPTIONS_INIT { 0, NULL, 0 }

/* The outcome of one call. Initialise with SD_RESULT_INIT before first use;
 * every function that takes a result frees its previous contents first, so
 * one result can be reused across calls; release it with sd_result_free. */
typedef struct sd_result {
    /* An sd_code, or a code number the server sent that this header does not
     * name; equal to the function's return value. */
    int code;
    /* A NUL-terminated sentence for a human: the server's status message,
     * or the library's own description of what failed. "" on SD_OK. NULL
     * only when even this message could not be allocated. */
    char *message;
    /* The first StatusDetail of a server status, if any: a stable
     * upper-snake reason ("CONTACT_LIMIT") and the request field it concerns
     * ("contact.email"). NULL when the status had no details. */
    char *detail_reason;
    char *detail_field;
    /* The serialized response message (sd_call only; typed calls unpack it
     * and leave this NULL). NULL when payload_len is 0. */
    uint8_t *payload;
    size_t payload_len;
} sd_result;

#define SD_RESULT_INIT { 0, NULL, NULL, NULL, NULL, 0 }

/* Frees the result's contents and resets it to SD_RESULT_INIT. NULL-safe. */
void sd_result_free(sd_result *result);

/* "OK", "NOT_FOUND", ...; "UNKNOWN_CODE" for numbers outside 0..16. The
 * string is static. */
const char *sd_code_name(int code);

/*
 * Connects to the service listening on the Unix socket `socket_path`.
 *
 * timeout_ms <= 0 means SD_DEFAULT_TIMEOUT_MS. On SD_OK *client_out is a new
 * client the caller must sd_close; otherwise *client_out is NULL and, when
 * `result` is not NULL, result->message says why (INVALID_ARGUMENT,
 * UNAVAILABLE, DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED as described above).
 * `result` may be NULL.
 */
int sd_connect(const char *socket_path, int timeout_ms, sd_client **client_out, sd_result *result);

/* Closes the connection and frees the client. NULL-safe. */
void sd_close(sd_client *client);

/*
 * Calls `method` ("/support.intake.v1.Intake/GetIncident") with the
 * serialized request `request` (request_len bytes; NULL when 0) and waits
 * for its response.
 *
 * Returns the status code, also stored in result->code. On SD_OK
 * result->payload holds the serialized response message (possibly empty),
 * owned by the result. On any other code result->message says why and
 * result->detail_reason/detail_field carry the server's first detail.
 * Responses to other (earlier, timed-out) calls are skipped; a Ping from the
 * server is answered with a Pong while waiting.
 */
int sd_call(sd_client *client, const char *method, const uint8_t *request, size_t request_len,
            const sd_call_options *options, sd_result *result);

/*
 * As sd_call, for protobuf-c messages: packs `request`, calls `method`, and
 * on SD_OK unpacks the response as `response_descriptor` into *response_out
 * (owned by the caller: protobuf_c_message_free_unpacked(*response_out,
 * NULL)). *response_out is NULL unless the code is SD_OK. A payload that
 * does not decode is SD_INTERNAL.
 */
int sd_call_message(sd_client *client, const char *method, const ProtobufCMessage *request,
                    const ProtobufCMessageDescriptor *response_descriptor, const sd_call_options *options,
                    ProtobufCMessage **response_out, sd_result *result);

/* --- The common calls: typed, so a caller never writes framing. ---------
 * Each behaves as sd_call_message for its method; the response belongs to
 * the caller and is freed with its generated __free_unpacked(response, NULL).
 * The codes a method returns are documented on it in Proto/support/v1. */

/* /support.health.v1.Health/Check: SERVING while the service accepts calls. */
int sd_health_check(sd_client *client, const Support__Health__V1__CheckRequest *request,
                    const sd_call_options *options, Support__Health__V1__CheckResponse **response_out,
                    sd_result *result);

/* /support.intake.v1.Intake/OpenIncident: honours "idempotency.key". */
int sd_intake_open_incident(sd_client *client, const Support__Intake__V1__OpenIncidentRequest *request,
                            const sd_call_options *options, Support__Intake__V1__Incident **response_out,
                            sd_result *result);

/* /support.intake.v1.Intake/GetIncident: NOT_FOUND for an unknown id. */
int sd_intake_get_incident(sd_client *client, const Support__Intake__V1__GetIncidentRequest *request,
                           const sd_call_options *options, Support__Intake__V1__Incident **response_out,
                           sd_result *result);

/* /support.escalation.v1.Escalation/Escalate: honours "idempotency.key". */
int sd_escalation_escalate(sd_client *client, const Support__Escalation__V1__EscalateRequest *request,
                           const sd_call_options *options,
                           Support__Escalation__V1__EscalationRecord **response_out, sd_result *result);

#ifdef __cplusplus
}
#endif

#endif /* SUPPORTDESK_CLIENT_H */
