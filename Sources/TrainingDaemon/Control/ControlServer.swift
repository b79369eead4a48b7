import Foundation
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import TrainingConfig
import TrainingControl
import TrainingSigV4

/// The control socket: HTTP/1.1 over a Unix socket (SwiftNIO), serving ``ControlAPI``.
/// It binds the configured path itself, replacing a stale socket file a crash left, or
/// adopts a listening socket passed by systemd (`LISTEN_FDS`). With `[aws_api] listen`, the
/// same API is also served on a TCP port, to requests signed with an access key (SigV4).
final class ControlServer: @unchecked Sendable {
    private let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    private var channel: (any Channel)?
    let path: String
    /// Whether the listening socket came from systemd (LISTEN_FDS) rather than being bound here.
    private(set) var adopted = false

    /// The limits in force (the connection cap may be lower than configured, see ``ConnectionLimits``).
    let limits: ConnectionLimits

    /// Where the TCP listener of the SageMaker API is bound (nil: none).
    private(set) var tcpAddress: String?
    private var tcpChannel: (any Channel)?

    init(path: String, api: ControlAPI, socketGroup: gid_t?, keys: AccessKeys) throws(DaemonError) {
        self.path = path
        let limits = ConnectionLimits.effective(for: api.configuration, logger: Logger(label: "trainingd"))
        self.limits = limits
        // One allowance of connections and of request bodies for both doors: the cap was sized
        // against the descriptor limit once, and the body budget is the daemon's memory.
        let connections = SharedAllowance(limit: limits.maxConnections)
        let bodies = SharedAllowance(limit: ConnectionLimits.totalBodyBudget)
        let bootstrap = Self.bootstrap(group: group, api: api, limits: limits, connections: connections, bodies: bodies,
                                       authentication: .peerCredentials)
        do {
            if let descriptor = Self.activatedDescriptor() {
                channel = try bootstrap.withBoundSocket(descriptor).wait()
                adopted = true
            } else {
                // The root lock is ours, so a socket file still there is a previous daemon's leftover.
                channel = try bootstrap.bind(unixDomainSocketPath: path, cleanupExistingSocketFile: true).wait()
                // Binding follows the umask; the documented mode is 0660, for the socket's group.
                chmod(path, 0o660)
                if let socketGroup { chown(path, getuid(), socketGroup) }
            }
        } catch {
            throw DaemonError(.socketPath, "cannot listen on \(path): \(error); check that its directory exists and is writable")
        }
        if let listen = api.configuration.awsAPI.listen, case .success(let address) = ListenAddress.parse(listen) {
            // The same handlers and limits. Jobs are told the S3 endpoint's region when the daemon's is only
            // "local" (JobAWSEnvironment), so requests scoped to it are taken too.
            let s3Region = api.supervisor.queue.sync { api.supervisor.locations.s3?.region }
            let verifier = SigV4Verifier(region: api.configuration.region, otherRegions: Set([s3Region].compactMap { $0 }),
                                         services: ["sagemaker", "logs"])
            let tcp = Self.bootstrap(group: group, api: api, limits: limits, connections: connections, bodies: bodies,
                                     authentication: .signature(verifier, keys))
                .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            do {
                tcpChannel = try tcp.bind(host: address.host, port: address.port).wait()
                tcpAddress = address.description
            } catch {
                close()
                throw DaemonError(.socketPath, "cannot listen on \(address) ([aws_api] listen): \(error); choose a free port")
            }
        }
    }

    private static func bootstrap(group: MultiThreadedEventLoopGroup, api: ControlAPI, limits: ConnectionLimits, connections: SharedAllowance,
                                  bodies: SharedAllowance, authentication: HTTPHandler.Authentication) -> ServerBootstrap
    {
        return ServerBootstrap(group: group)
            .serverChannelOption(ChannelOptions.backlog, value: 256)
            .childChannelInitializer { channel in
                guard connections.take() else {
                    return channel.pipeline.addHandler(OverCapacityHandler(answer: limits.overCapacity))
                }
                channel.closeFuture.whenComplete { _ in connections.giveBack() }
                let activity = ConnectionActivity()
                do {
                    try channel.pipeline.syncOperations.addHandlers([
                        IdleStateHandler(readTimeout: .seconds(Int64(limits.idleTimeoutSeconds))),
                        IdleGuard(activity: activity, limits: limits),
                    ])
                } catch {
                    return channel.eventLoop.makeFailedFuture(error)
                }
                return channel.pipeline.configureHTTPServerPipeline(withErrorHandling: true).flatMapThrowing {
                    try channel.pipeline.syncOperations.addHandler(
                        HTTPHandler(api: api, activity: activity, bodies: bodies, authentication: authentication))
                }
            }
    }

    /// The listening socket systemd passed (fd 3), when LISTEN_PID is this process.
    static func activatedDescriptor() -> Int32? {
        let environment = ProcessInfo.processInfo.environment
        guard environment["LISTEN_PID"] == String(getpid()), environment["LISTEN_FDS"] == "1" else { return nil }
        unsetenv("LISTEN_PID")
        unsetenv("LISTEN_FDS")
        unsetenv("LISTEN_FDNAMES")
        return 3
    }

    /// Runs `work` on the server's event loop (the watchdog's round trip passes through it).
    func execute(_ work: @escaping @Sendable () -> Void) {
        group.next().execute(work)
    }

    func close() {
        try? tcpChannel?.close().wait()
        try? channel?.close().wait()
        try? group.syncShutdownGracefully()
    }
}
