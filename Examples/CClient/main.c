/*
 * supportdesk-c-example: opens an incident at intake and prints its id and
 * when the vendor's response is due — the example a C team copies.
 *
 *   supportdesk-c-example --certificate C-1 --contact ann@acme.example \
 *       --title "Scanner crashes" [--severity 3] [--channel portal] [--kind product]
 *
 * The intake socket is --socket PATH, else $SUPPORTDESK_RUNTIME_DIR/intake.sock,
 * else ./.run/intake.sock; the due time comes from sla-timer.sock beside it
 * (--sla-socket PATH). Exit status: 0 when the incident was opened, 1 when
 * intake refused or could not be reached (the status is printed), 2 for bad
 * flags.
 */
#define _POSIX_C_SOURCE 200809L
#include <ctype.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "support/v1/sla.pb-c.h"
#include "supportdesk_client.h"

static void usage(FILE *out) {
    fprintf(out,
            "usage: supportdesk-c-example --certificate ID --contact EMAIL [options]\n"
            "  --certificate ID        the certificate the incident is for (required)\n"
            "  --contact EMAIL         an authorised contact of it (required)\n"
            "  --title TEXT            a one-line summary (default \"Opened from C\")\n"
            "  --description TEXT      the details\n"
            "  --severity N            1 (critical) to 4 (low); default 3\n"
            "  --channel NAME          portal, phone, email or tam; default portal\n"
            "  --kind NAME             product, outbreak, malware, false-positive, service,\n"
            "                          definitions-release or patch; default product\n"
            "  --actor STAFF           who records a phone, email or TAM request\n"
            "  --idempotency-key KEY   the same key opens at most one incident\n"
            "  --runtime-dir DIR       where the sockets are (default $SUPPORTDESK_RUNTIME_DIR, else ./.run)\n"
            "  --socket PATH           intake's socket (default DIR/intake.sock)\n"
            "  --sla-socket PATH       sla-timer's socket (default DIR/sla-timer.sock)\n"
            "  --timeout MS            per call; default 5000\n");
}

/* "false-positive" + "INCIDENT_KIND_" -> INCIDENT_KIND_FALSE_POSITIVE, looked
 * up in protoc-c's enum descriptor, so the names follow the .proto. */
static int enum_value(const ProtobufCEnumDescriptor *descriptor, const char *prefix, const char *name, int *value) {
    char full[128];
    size_t length = strlen(prefix);
    if (length + strlen(name) + 1 > sizeof full) return 0;
    memcpy(full, prefix, length);
    for (const char *c = name; *c; c++) full[length++] = *c == '-' ? '_' : (char)toupper((unsigned char)*c);
    full[length] = '\0';
    const ProtobufCEnumValue *found = protobuf_c_enum_descriptor_get_value_by_name(descriptor, full);
    if (found == NULL || found->value == 0) return 0;
    *value = found->value;
    return 1;
}

static void format_utc(const Google__Protobuf__Timestamp *at, char *out, size_t size) {
    time_t seconds = (time_t)at->seconds;
    struct tm utc;
    gmtime_r(&seconds, &utc);
    strftime(out, size, "%Y-%m-%dT%H:%M:%SZ", &utc);
}

/* Asks sla-timer when a response to the incident is due (ComputeDue: the
 * same policy and calendar arithmetic that starts the incident's clock). */
static void print_due(const char *sla_socket, const Support__Intake__V1__Incident *incident,
                      const sd_call_options *options) {
    sd_client *sla = NULL;
    sd_result result = SD_RESULT_INIT;
    if (sd_connect(sla_socket, options->timeout_ms, &sla, &result) != SD_OK) {
        fprintf(stderr, "due time unknown: sla-timer at %s: %s: %s\n", sla_socket, sd_code_name(result.code),
                result.message ? result.message : "");
        sd_result_free(&result);
        return;
    }
    Support__Sla__V1__ComputeDueRequest request = SUPPORT__SLA__V1__COMPUTE_DUE_REQUEST__INIT;
    request.office = incident->office;
    request.severity = incident->severity;
    request.start = incident->opened_at;
    request.channel = incident->channel;
    request.tier = incident->tier;
    Support__Sla__V1__ComputeDueResponse *due = NULL;
    int code = sd_call_message(sla, "/support.sla.v1.SLATimer/ComputeDue", &request.base,
                               &support__sla__v1__compute_due_response__descriptor, options,
                               (ProtobufCMessage **)&due, &result);
    if (code == SD_OK && due->due_at != NULL) {
        char utc[32];
        format_utc(due->due_at, utc, sizeof utc);
        printf("response due %s (%s office time; %s)\n", due->due_local, incident->office, utc);
        if (due->phone_advised) printf("note: severity 1 outside business hours must be phoned in\n");
        support__sla__v1__compute_due_response__free_unpacked(due, NULL);
    } else {
        if (due != NULL) support__sla__v1__compute_due_response__free_unpacked(due, NULL);
        fprintf(stderr, "due time unknown: %s: %s\n", sd_code_name(result.code), result.message ? result.message : "");
    }
    sd_result_free(&result);
    sd_close(sla);
}

int main(int argc, char **argv) {
    const char *certificate = NULL, *contact = NULL, *title = "Opened from C", *description = "", *actor = "";
    const char *channel = "portal", *kind = "product", *key = NULL;
    const char *runtime_dir = getenv("SUPPORTDESK_RUNTIME_DIR");
    const char *socket_path = NULL, *sla_socket = NULL;
    int severity = 3, timeout_ms = 5000;
    static const struct option options[] = {
        { "certificate", required_argument, NULL, 'c' }, { "contact", required_argument, NULL, 'e' },
        { "title", required_argument, NULL, 't' },       { "description", required_argument, NULL, 'd' },
        { "severity", required_argument, NULL, 's' },    { "channel", required_argument, NULL, 'C' },
        { "kind", required_argument, NULL, 'k' },        { "actor", required_argument, NULL, 'a' },
        { "idempotency-key", required_argument, NULL, 'i' }, { "runtime-dir", required_argument, NULL, 'r' },
        { "socket", required_argument, NULL, 'S' },      { "sla-socket", required_argument, NULL, 'L' },
        { "timeout", required_argument, NULL, 'T' },     { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    int option;
    while ((option = getopt_long(argc, argv, "h", options, NULL)) != -1) {
        switch (option) {
        case 'c': certificate = optarg; break;
        case 'e': contact = optarg; break;
        case 't': title = optarg; break;
        case 'd': description = optarg; break;
        case 's': severity = atoi(optarg); break;
        case 'C': channel = optarg; break;
        case 'k': kind = optarg; break;
        case 'a': actor = optarg; break;
        case 'i': key = optarg; break;
        case 'r': runtime_dir = optarg; break;
        case 'S': socket_path = optarg; break;
        case 'L': sla_socket = optarg; break;
        case 'T': timeout_ms = atoi(optarg); break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (certificate == NULL || contact == NULL || optind != argc) {
        fprintf(stderr, "supportdesk-c-example: --certificate and --contact are required\n");
        usage(stderr);
        return 2;
    }
    Support__Intake__V1__OpenIncidentRequest request = SUPPORT__INTAKE__V1__OPEN_INCIDENT_REQUEST__INIT;
    int value = 0;
    if (!enum_value(&support__common__v1__channel__descriptor, "CHANNEL_", channel, &value)) {
        fprintf(stderr, "supportdesk-c-example: unknown --channel %s (portal, phone, email or tam)\n", channel);
        return 2;
    }
    request.channel = (Support__Common__V1__Channel)value;
    if (!enum_value(&support__common__v1__incident_kind__descriptor, "INCIDENT_KIND_", kind, &value)) {
        fprintf(stderr, "supportdesk-c-example: unknown --kind %s\n", kind);
        return 2;
    }
    request.kind = (Support__Common__V1__IncidentKind)value;
    /* protobuf-c's message structs hold char *; they are only read here. */
    request.certificate_id = (char *)certificate;
    request.contact_email = (char *)contact;
    request.severity = severity;
    request.title = (char *)title;
    request.description = (char *)description;
    request.actor = (char *)actor;

    char intake_default[4096], sla_default[4096];
    const char *dir = runtime_dir != NULL && runtime_dir[0] ? runtime_dir : "./.run";
    snprintf(intake_default, sizeof intake_default, "%s/intake.sock", dir);
    snprintf(sla_default, sizeof sla_default, "%s/sla-timer.sock", dir);
    if (socket_path == NULL) socket_path = intake_default;
    if (sla_socket == NULL) sla_socket = sla_default;

    sd_metadata metadata[] = { { "idempotency.key", key } };
    sd_call_options call_options = { timeout_ms, metadata, key != NULL ? 1 : 0 };

    sd_client *intake = NULL;
    sd_result result = SD_RESULT_INIT;
    if (sd_connect(socket_path, timeout_ms, &intake, &result) != SD_OK) {
        fprintf(stderr, "%s: %s\n", sd_code_name(result.code), result.message ? result.message : "");
        sd_result_free(&result);
        return 1;
    }
    Support__Intake__V1__Incident *incident = NULL;
    int code = sd_intake_open_incident(intake, &request, &call_options, &incident, &result);
    sd_close(intake);
    if (code != SD_OK) {
        fprintf(stderr, "%s: %s\n", sd_code_name(result.code), result.message ? result.message : "");
        sd_result_free(&result);
        return 1;
    }
    printf("%s\n", incident->id);
    sd_call_options due_options = { timeout_ms, NULL, 0 };
    print_due(sla_socket, incident, &due_options);
    support__intake__v1__incident__free_unpacked(incident, NULL);
    sd_result_free(&result);
    return 0;
}
