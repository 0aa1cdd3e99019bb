import SupportProto

extension Support_Events_V1_Event {
    /// The incident as it was right after an intake incident event; nil for
    /// every other kind. Setting it attaches the snapshot to the payload
    /// (ignored for kinds that carry none).
    public var incidentSnapshot: Support_Events_V1_IncidentSnapshot? {
        get {
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
            case .articleAdded(let e): e.incident
            default: nil
            }
        }
        set {
            guard let snapshot = newValue else { return }
            switch self.payload {
            case .incidentOpened(var e): e.incident = snapshot; self.payload = .incidentOpened(e)
            case .responseGiven(var e): e.incident = snapshot; self.payload = .responseGiven(e)
            case .infoRequested(var e): e.incident = snapshot; self.payload = .infoRequested(e)
            case .infoProvided(var e): e.incident = snapshot; self.payload = .infoProvided(e)
            case .severityChanged(var e): e.incident = snapshot; self.payload = .severityChanged(e)
            case .workaroundProvided(var e): e.incident = snapshot; self.payload = .workaroundProvided(e)
            case .resolved(var e): e.incident = snapshot; self.payload = .resolved(e)
            case .reopened(var e): e.incident = snapshot; self.payload = .reopened(e)
            case .closed(var e): e.incident = snapshot; self.payload = .closed(e)
            case .articleAdded(var e): e.incident = snapshot; self.payload = .articleAdded(e)
            default: break
            }
        }
    }
}
