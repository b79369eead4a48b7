public import Logging

/// What both of the daemon's log backends share: a threshold common to every logger of the
/// process, and metadata merged from the handler, its provider and the record, in that order.
public protocol SharedThresholdHandler: LogHandler {
    var threshold: LogThreshold { get }
}

extension SharedThresholdHandler {
    public var logLevel: Logger.Level {
        get { threshold.level }
        set { threshold.level = newValue }
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    /// The record's metadata over the provider's over the handler's own.
    func metadata(of event: LogEvent) -> Logger.Metadata {
        metadata.merging(metadataProvider?.get() ?? [:]) { current, _ in current }
            .merging(event.metadata ?? [:]) { _, explicit in explicit }
    }
}
