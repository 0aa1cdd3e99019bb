import SupportProto

extension Support_Events_V1_Event {
    /// The incident as it was right after an intake incident event; nil for
    /// every other kind.
    public var incidentSnapshot: Support_Events_V1_IncidentSnapshot? {
        switch self.payload {
        case .incidentOpened(let e): e.incident
        case .responseGiven(let e): e.incident
        case .infoRequested(let e): e.incident
        case .infoProvided(let e): e.incident
        case .severityChanged(let e): e.incident
        case .workaroundProvided(let e): e.incident
        case .resolved(let e): e.incident
        case .reopened(let e): e.incident
        case .closed(let e): e.incident
        default: nil
        }
    }
}
