extension LaunchSpec {
    /// Refuses what the keeper's command line cannot carry, before anything is spawned.
    func validate() throws(RuntimeError) {
        func invalid(_ message: String, path: String? = nil) -> RuntimeError {
            RuntimeError(.invalidSpec, path: path, message: message)
        }
        guard let program = arguments.first, !program.isEmpty else {
            throw invalid("the job has no program: give at least arguments[0]")
        }
        for (name, path) in [("statusPath", statusPath), ("logPath", logPath), ("workingDirectory", workingDirectory)]
        where !path.hasPrefix("/") {
            throw invalid("\(name) must be an absolute path", path: path)
        }
        if let rootFilesystem, !rootFilesystem.hasPrefix("/") {
            throw invalid("rootFilesystem must be an absolute path", path: rootFilesystem)
        }
        if let container {
            if rootFilesystem != nil { throw invalid("a container and a rootFilesystem exclude each other", path: container.directory) }
            if isolation == .none { throw invalid("a container needs a PID and mount namespace (isolation pidns or auto)", path: container.directory) }
            guard !container.layers.isEmpty, container.directory.hasPrefix("/"), container.layers.allSatisfy({ $0.hasPrefix("/") }),
                  container.devices.allSatisfy({ $0.hasPrefix("/") && !$0.hasSuffix("/") }) else {
                throw invalid("a container needs at least one layer, and absolute paths", path: container.directory)
            }
        }
        if token.isEmpty { throw invalid("the token must not be empty") }
        for file in cgroupProcessFiles where !file.hasPrefix("/") {
            throw invalid("a cgroup.procs file must be an absolute path", path: file)
        }
        if logCapBytes != 0 && logCapBytes < 4096 {
            throw invalid("logCapBytes must be 0 (unbounded) or at least 4096, not \(logCapBytes)", path: logPath)
        }
        for bind in binds {
            guard bind.source.hasPrefix("/"), bind.target.hasPrefix("/") else {
                throw invalid("bind source and target must be absolute paths", path: bind.source)
            }
            if bind.target.contains(":") {
                throw invalid("a bind target must not contain ':' (the keeper splits SRC:DST at the last one)",
                    path: bind.target)
            }
        }
        if let hostname, hostname.isEmpty || hostname.utf8.count > 64 {
            throw invalid("a host name has 1 to 64 bytes, not \(hostname.utf8.count)")
        }
        for (key, _) in environment where key.isEmpty || key.utf8.contains(UInt8(ascii: "=")) {
            throw invalid("environment variable name '\(key)' is empty or contains '='")
        }
        var everything: [String] = arguments + environment.keys + environment.values
        everything += [token, statusPath, logPath, workingDirectory, rootFilesystem ?? "", hostname ?? ""]
        everything += binds.flatMap { [$0.source, $0.target] } + cgroupProcessFiles
        if let container { everything += container.layers + [container.directory, container.user] + container.devices }
        if everything.contains(where: { $0.utf8.contains(0) }) {
            throw invalid("arguments, environment and paths must not contain NUL bytes")
        }
    }

    /// The keeper's command line (flag syntax: the comment at the top of trainingd-keeper/main.c).
    /// `joined`: the keeper is a warm one, inside `cgroupProcessFiles`' cgroups already.
    func keeperArguments(keeperPath: String, environmentDescriptor: Int32, joined: Bool = false) -> [String] {
        var argv = [
            keeperPath, "--token", token, "--status", statusPath, "--env-fd", String(environmentDescriptor), "--log", logPath,
            "--log-cap", String(logCapBytes), "--isolation", isolation.rawValue, "--cwd", workingDirectory,
        ]
        if let rootFilesystem { argv += ["--rootfs", rootFilesystem] }
        if let hostname { argv += ["--hostname", hostname] }
        if let container {
            argv += ["--container", container.directory] + container.layers.flatMap { ["--layer", $0] }
            if !container.user.isEmpty { argv += ["--container-user", container.user] }
            for device in container.devices { argv += ["--device", device] }
        }
        for bind in binds {
            argv += [bind.readOnly ? "--bind-ro" : "--bind", bind.source + ":" + bind.target]
        }
        for file in cgroupProcessFiles { argv += ["--cgroup", file] }
        if joined && !cgroupProcessFiles.isEmpty { argv += ["--joined", "1"] }
        if let credentials {
            argv += [
                "--uid", String(credentials.uid), "--gid", String(credentials.gid),
                "--groups", credentials.groups.map(String.init).joined(separator: ","),
            ]
        }
        return argv + ["--"] + arguments
    }
}
