import Dispatch
import Foundation
import TrainingConfig
import TrainingCore

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
/// store, recover, start intake, then serve until SIGTERM or SIGINT.
public final class Daemon {
    let configuration: DaemonConfiguration
    let site: SiteCatalog
    private let lock: RootLock

    public init(options: DaemonOptions) throws(DaemonError) {
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
            try Self.makeDirectory(root)
        }
        let socketBytes = configuration.paths.socket.utf8.count
        guard socketBytes <= 107 else {
            throw DaemonError(.socketPath, "the control socket path \(configuration.paths.socket) is \(socketBytes) bytes; Unix sockets allow at most 107. Use a shorter --root or set [paths] socket")
        }
        do {
            site = try configuration.loadSiteCatalog()
        } catch {
            throw DaemonError(.configuration, "the site configuration cannot be used:\n\(error)")
        }
        self.configuration = configuration
        for directory in [configuration.paths.state, configuration.paths.jobs, configuration.paths.logs] {
            try Self.makeDirectory(directory)
        }
        lock = try RootLock(path: (options.root ?? configuration.paths.state) + "/trainingd.lock")
    }

    /// Runs until a termination signal; returns when the daemon has shut down.
    public func run() throws(DaemonError) {
        let supervisor = try Supervisor(configuration: configuration, site: site)
        try supervisor.start()
        let socketDirectory = (configuration.paths.socket as NSString).deletingLastPathComponent
        try Self.makeDirectory(socketDirectory)
        let server = try ControlServer(
            path: configuration.paths.socket, api: ControlAPI(supervisor: supervisor),
            socketGroup: configuration.socketGroup.flatMap { name in getgrnam(name).map { $0.pointee.gr_gid } })
        // A parent may hand us these signals blocked (systemd-socket-activate does, and exec keeps the
        // mask); blocked, they would never reach the sources below and the daemon could not be stopped.
        var handled = sigset_t()
        sigemptyset(&handled)
        for signalNumber in [SIGTERM, SIGINT, SIGHUP] { sigaddset(&handled, signalNumber) }
        pthread_sigmask(SIG_UNBLOCK, &handled, nil)
        let signals = [SIGTERM, SIGINT].map { signalNumber -> any DispatchSourceSignal in
            // libdispatch delivers the signal only if its default action is disabled first.
            signal(signalNumber, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: supervisor.queue)
            source.setEventHandler {
                supervisor.shutDown { exit(0) }
            }
            source.resume()
            return source
        }
        signal(SIGPIPE, SIG_IGN)
        withExtendedLifetime((signals, lock, server)) {
            dispatchMain()
        }
    }

    static func makeDirectory(_ path: String) throws(DaemonError) {
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        } catch {
            throw DaemonError(.filesystem, "cannot create \(path): \(error.localizedDescription)")
        }
    }
}
