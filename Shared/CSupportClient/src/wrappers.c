/*
 * The common calls, typed: each is sd_call_message with its method name and
 * response descriptor, so a C caller never spells either.
 */
#include "internal.h"

int sd_health_check(sd_client *client, const Support__Health__V1__CheckRequest *request,
                    const sd_call_options *options, Support__Health__V1__CheckResponse **response_out,
                    sd_result *result) {
    return sd_call_message(client, "/support.health.v1.Health/Check", (const ProtobufCMessage *)request,
                           &support__health__v1__check_response__descriptor, options,
                           (ProtobufCMessage **)response_out, result);
}

int sd_intake_open_incident(sd_client *client, const Support__Intake__V1__OpenIncidentRequest *request,
                            const sd_call_options *options, Support__Intake__V1__Incident **response_out,
                            sd_result *result) {
    return sd_call_message(client, "/support.intake.v1.Intake/OpenIncident", (const ProtobufCMessage *)request,
                           &support__intake__v1__incident__descriptor, options, (ProtobufCMessage **)response_out,
                           result);
}

int sd_intake_get_incident(sd_client *client, const Support__Intake__V1__GetIncidentRequest *request,
                           const sd_call_options *options, Support__Intake__V1__Incident **response_out,
                           sd_result *result) {
    return sd_call_message(client, "/support.intake.v1.Intake/GetIncident", (const ProtobufCMessage *)request,
                           &support__intake__v1__incident__descriptor, options, (ProtobufCMessage **)response_out,
                           result);
}

int sd_escalation_escalate(sd_client *client, const Support__Escalation__V1__EscalateRequest *request,
                           const sd_call_options *options,
                           Support__Escalation__V1__EscalationRecord **response_out, sd_result *result) {
    return sd_call_message(client, "/support.escalation.v1.Escalation/Escalate", (const ProtobufCMessage *)request,
                           &support__escalation__v1__escalation_record__descriptor, options,
                           (ProtobufCMessage **)response_out, result);
}
