import ArgumentParser
import Foundation
import TrainingConfig
import TrainingControl
import TrainingCore
import TrainingImages

/// `jobctl validate FILE...`: lints definitions offline, exactly as the daemon would check them.
struct Validate: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate",
        _superCommandName: Jobctl.name,
        abstract: "Check definitions without a daemon.",
        discussion: """
            Prints every error with its field path. A definition without TrainingJobName takes its \
            file's base name, as in the spool. With --config, also checks what depends on a daemon's \
            configuration: the image table (and the images of root's container storage: through podman as root, \
            else through the daemon), the algorithms directory and the file-system map. \
            With --root DIR, checks as `trainingd --root DIR` would: its algorithms directory is \
            DIR/algorithms (unless --config names another), and without --config the built-in \
            defaults apply. --socket is accepted, as by every command, and not used: nothing is sent to a daemon.
            Exit status: 0 all valid, 1 some invalid, 2 some unreadable (or a bad --config).
            """
    )

    @Argument(help: ArgumentHelp("Definition files; - reads standard input.", valueName: "file"))
    var files: [String]

    @Flag(name: .long, help: "Print one JSON report per file (the schema of the spool's .error.json files).")
    var json = false

    @Option(name: .long, help: ArgumentHelp("A daemon configuration whose site checks to add.", valueName: "path"))
    var config: String?

    @OptionGroup var connection: ConnectionOptions

    func run() throws {
        let validator: DefinitionValidator
        do {
            let configuration = try siteConfiguration()
            var site = try configuration?.loadSiteCatalog()
            if let configuration, site != nil { site?.localImage = localImages(configuration) }
            validator = DefinitionValidator(site: site)
        } catch {
            FileHandle.standardError.write(Data("jobctl: the configuration cannot be used:\n\(error)\n".utf8))
            throw ExitCode(ExitStatus.unreadable)
        }
        var status = ExitStatus.success
        for file in files {
            let report: ValidationReport
            switch DefinitionInput.read(file) {
            case .failure(let issue):
                report = ValidationReport(file: file, issues: [issue])
                status = ExitStatus.unreadable
            case .success(let bytes):
                switch validator.validate(bytes, defaultJobName: DefinitionInput.defaultJobName(for: file)) {
                case .success:
                    report = ValidationReport(file: file, issues: [])
                case .failure(let rejection):
                    report = ValidationReport(file: file, issues: rejection.issues)
                    if status == ExitStatus.success { status = ExitStatus.invalid }
                }
            }
            print(json ? report.jsonText() : Self.text(of: report))
        }
        if status != ExitStatus.success { throw ExitCode(status) }
    }

    /// The configuration whose site rules apply: --config's, with --root's paths as the daemon lays them
    /// out (Daemon.loadConfiguration); nil (no site rules) with neither.
    func siteConfiguration() throws(ConfigurationFailure) -> DaemonConfiguration? {
        guard config != nil || connection.root != nil else { return nil }
        var configuration = try config.map { path throws(ConfigurationFailure) in try DaemonConfiguration.load(contentsOf: path) }
            ?? DaemonConfiguration()
        if let root = connection.root {
            let defaultAlgorithms = DaemonConfiguration.Paths().algorithms
            let algorithms = configuration.paths.algorithms
            configuration.paths = DaemonConfiguration.Paths(root: root)
            if config != nil, algorithms != defaultAlgorithms { configuration.paths.algorithms = algorithms }
        }
        return configuration
    }

    /// How images of the container storage are found: through podman as root (the storage is
    /// root's), else through the daemon's Trainingd.ListImages; nil (with a warning) when neither can.
    func localImages(_ configuration: DaemonConfiguration) -> (@Sendable (String) -> ContainerImage?)? {
        guard !configuration.podman.isEmpty else { return nil }
        if getuid() == 0, access(configuration.podman, X_OK) == 0 {
            let catalog = ImageCatalog(podman: configuration.podman)
            return { catalog.lookup($0) }
        }
        if let answer = try? connection.client.call(.listImages), answer["StorageError"] == nil {
            let images = (answer["Images"]?.arrayValue ?? []).compactMap { image -> ContainerImage? in
                guard let id = image["ImageId"]?.stringValue else { return nil }
                return ContainerImage(id: id, names: (image["Names"]?.arrayValue ?? []).compactMap(\.stringValue), layers: [])
            }
            return { ImageCatalog.match($0, in: images) }
        }
        FileHandle.standardError.write(Data("jobctl: the container storage is root's and no daemon answered on \(connection.socketPath): images that are not in the image table are reported as missing; run as root, or with the daemon running\n".utf8))
        return nil
    }

    static func text(of report: ValidationReport) -> String {
        let file = report.file ?? "-"
        guard !report.valid else { return "\(file): valid" }
        let count = report.errors.count
        return (["\(file): \(count) error\(count == 1 ? "" : "s")"] + report.errors.map { "  \($0.message)" })
            .joined(separator: "\n")
    }
}

/// Reads a definition from a path or standard input, refusing more than the size cap without reading it all.
enum DefinitionInput {
    static func read(_ path: String) -> Result<[UInt8], ValidationIssue> {
        let handle: FileHandle
        if path == "-" {
            handle = FileHandle.standardInput
        } else {
            var info = stat()
            guard stat(path, &info) == 0 else { return .failure(unreadable(path, errno)) }
            if (info.st_mode & S_IFMT) == S_IFDIR {
                return .failure(ValidationIssue(path: "", code: .unreadable, message: "\(path) is a directory; give the definition files inside it"))
            }
            if (info.st_mode & S_IFMT) == S_IFREG, Int(info.st_size) > DefinitionValidator.maximumDefinitionSize {
                return .failure(DefinitionValidator.tooLarge(size: Int(info.st_size)))
            }
            guard let opened = FileHandle(forReadingAtPath: path) else { return .failure(unreadable(path, errno)) }
            handle = opened
        }
        defer { if path != "-" { try? handle.close() } }
        do {
            // One byte more than allowed tells an oversized stream from one at the limit.
            let data = try handle.read(upToCount: DefinitionValidator.maximumDefinitionSize + 1) ?? Data()
            if data.count > DefinitionValidator.maximumDefinitionSize {
                return .failure(DefinitionValidator.tooLarge(size: data.count))
            }
            return .success(Array(data))
        } catch {
            return .failure(ValidationIssue(path: "", code: .unreadable, message: "cannot read \(path): \(error.localizedDescription)"))
        }
    }

    /// The name the spool would give a definition without TrainingJobName.
    static func defaultJobName(for path: String) -> String? {
        guard path != "-" else { return nil }
        let base = (path as NSString).lastPathComponent
        return base.hasSuffix(".json") ? String(base.dropLast(5)) : base
    }

    private static func unreadable(_ path: String, _ code: Int32) -> ValidationIssue {
        ValidationIssue(path: "", code: .unreadable, message: "cannot read \(path): \(String(cString: strerror(code)))")
    }
}
