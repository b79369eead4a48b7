import Dispatch
import Foundation
import Logging
import TrainingConfig
import TrainingCore
import TrainingFiles
import TrainingImages
import TrainingObjectStore
import TrainingSystemd

/// How the daemon was started.
public struct DaemonOptions: Sendable {
    public var root: String?
    public var configurationPath: String?

    public init(root: String? = nil, configurationPath: String? = nil) {
        self.root = root
        self.configurationPath = configurationPath
    }
}

/// The daemon's life: resolve the configuration and paths, take the root lock, open the
/// store, recover, start intake, tell systemd it is ready, then serve until drained
/// (`Daemon+Lifecycle`: signals, reload, drain, watchdog).
public final class Daemon: @unchecked Sendable {
    let options: DaemonOptions
    /// Changed only by a reload, on `lifecycle`.
    var configuration: DaemonConfiguration
    let site: SiteCatalog
    /// Where locations are served, resolved with `site` (`DaemonConfiguration.loadSite()`).
    let locations: ObjectLocations
    private let lock: RootLock
    /// Signals, reloads and the start of a drain are handled here, off the supervisor's queue,
    /// so that a busy or wedged supervisor cannot keep the daemon from hearing them.
    let lifecycle = DispatchQueue(label: "trainingd.lifecycle")
    let notifier = ServiceNotifier()
    /// Made after the log backend is chosen: a Logger keeps the handler it was created with.
    let logger: Logger
    /// Set once the socket is live; closed (answers flushed) just before the process exits.
    var server: ControlServer?

    public init(options: DaemonOptions) throws(DaemonError) {
        DaemonLogging.bootstrap(identifier: "trainingd", level: .info)
        logger = Logger(label: "trainingd")
        self.options = options
        configuration = try Self.loadConfiguration(options)
        (site, locations) = try Self.loadSite(configuration)
        DaemonLogging.threshold.level = configuration.logLevel.loggerLevel
        // An existing --root is the operator's and keeps its mode; one made here is 0755.
        if let root = options.root { try DaemonDirectories.prepare(root, .notWritableByOthers, onlyIfCreated: true) }
        let socketBytes = configuration.paths.socket.utf8.count
        guard socketBytes <= 107 else {
            throw DaemonError(.socketPath, "the control socket path \(configuration.paths.socket) is \(socketBytes) bytes; Unix sockets allow at most 107. Use a shorter --root or set [paths] socket")
        }
        // The database holds every job's Environment (tokens): only the daemon's user may enter.
        try DaemonDirectories.prepare(configuration.paths.state, .exactly(0o700))
        // Job users must reach their volumes and logs, but never rename or plant entries here.
        for directory in [configuration.paths.jobs, configuration.paths.logs] {
            try DaemonDirectories.prepare(directory, .notWritableByOthers)
            // One tree per job, made and removed at the job's pace: spread over block groups
            // (`Directory.markAsTopOfHierarchy`; bench/RESULTS.md, the queue at scale).
            _ = try? Directory.open(directory, followingLinks: true).markAsTopOfHierarchy()
        }
        lock = try RootLock(path: (options.root ?? configuration.paths.state) + "/trainingd.lock")
    }

    /// The configuration file (or the defaults) with `--root` applied.
    static func loadConfiguration(_ options: DaemonOptions) throws(DaemonError) -> DaemonConfiguration {
        var configuration: DaemonConfiguration
        do {
            if let path = options.configurationPath {
                configuration = try DaemonConfiguration.load(contentsOf: path)
            } else if options.root == nil, FileManager.default.fileExists(atPath: DaemonConfiguration.packagedPath) {
                configuration = try DaemonConfiguration.load(contentsOf: DaemonConfiguration.packagedPath)
            } else {
                configuration = DaemonConfiguration()
            }
        } catch {
            throw DaemonError(.configuration, "the configuration cannot be used:\n\(error)")
        }
        if let root = options.root {
            let algorithms = options.configurationPath != nil && configuration.paths.algorithms != DaemonConfiguration.Paths().algorithms
                ? configuration.paths.algorithms : nil
            configuration.paths = DaemonConfiguration.Paths(root: root)
            if let algorithms { configuration.paths.algorithms = algorithms }
        }
        return configuration
    }

    /// The site catalog `configuration` describes, and where its locations are served.
    static func loadSite(_ configuration: DaemonConfiguration) throws(DaemonError) -> (catalog: SiteCatalog, locations: ObjectLocations) {
        var site: (catalog: SiteCatalog, locations: ObjectLocations)
        do {
            site = try configuration.loadSite()
        } catch {
            throw DaemonError(.configuration, "the site configuration cannot be used:\n\(error)")
        }
        if let images = imageCatalog(podman: configuration.podman) {
            site.catalog.localImage = { images.lookup($0) }
        }
        return site
    }

    /// One catalog per podman for the daemon's lifetime, so that a reload keeps what was listed.
    nonisolated(unsafe) private static var imageCatalogs: [String: ImageCatalog] = [:]
    private static let imageCatalogLock = NSLock()

    /// The local image store's catalog, or nil when `[containers] podman` is empty or not installed.
    static func imageCatalog(podman: String) -> ImageCatalog? {
        guard !podman.isEmpty, access(podman, X_OK) == 0 else { return nil }
        return imageCatalogLock.withLock {
            if let catalog = imageCatalogs[podman] { return catalog }
            let catalog = ImageCatalog(podman: podman)
            imageCatalogs[podman] = catalog
            return catalog
        }
    }

    /// Runs until drained; does not return (the process exits 0 once the drain is done).
    public func run() throws(DaemonError) {
        let supervisor = try Supervisor(configuration: configuration, site: site, locations: locations)
        supervisor.accessKeys.replace(with: try AccessKeys.load(for: configuration))
        supervisor.onSummaryChange = { [notifier] summary in notifier.send(.status(summary)) }
        try supervisor.start()
        let socketDirectory = (configuration.paths.socket as NSString).deletingLastPathComponent
        try DaemonDirectories.prepare(socketDirectory, .notWritableByOthers, onlyIfCreated: true)
        let server = try ControlServer(
            path: configuration.paths.socket,
            api: ControlAPI(supervisor: supervisor, drain: { [unowned self] in self.drain(supervisor) }),
            socketGroup: configuration.socketGroup.flatMap { name in getgrnam(name).map { $0.pointee.gr_gid } }, keys: supervisor.accessKeys)
        self.server = server
        let signals = handleSignals(supervisor)
        // Everything READY promises is true now: store migrated, recovery done, spool watched, socket bound.
        notifier.send(.ready(status: supervisor.queue.sync { supervisor.lastSummary }))
        // Pings start after READY: systemd ignores (and the order of messages would blur) any before it.
        let watchdog = ServiceWatchdog(notifier: notifier, roundTrip: [
            { work in supervisor.queue.async(execute: work) },
            { work in server.execute(work) },
        ])
        let origin = server.adopted ? " (passed by systemd socket activation)" : ""
        let tcp = server.tcpAddress.map { ", SageMaker API on http://\($0) (\(supervisor.accessKeys.count) access key\(supervisor.accessKeys.count == 1 ? "" : "s"))" } ?? ""
        logger.notice("ready: control socket \(configuration.paths.socket)\(origin)\(tcp), spool \(configuration.paths.spool)")
        withExtendedLifetime((signals, lock, server, watchdog)) {
            dispatchMain()
        }
    }

}

extension DaemonConfiguration.LogLevel {
    var loggerLevel: Logger.Level { Logger.Level(rawValue: rawValue) ?? .info }
}
