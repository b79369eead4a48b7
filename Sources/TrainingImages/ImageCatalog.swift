import Foundation
public import TrainingCore
import TrainingFiles

/// The container images of the host's containers-storage (what `podman pull`, `podman load`,
/// `buildah commit` and `skopeo copy ... containers-storage:` fill), as podman describes them.
///
/// podman is asked for the whole list (`podman images`, then one `podman image inspect` of every
/// id it gave), never about a name a user wrote: references are matched here, against the names
/// the store reported. The list is kept in memory and asked for again only when a reference is
/// not in it, at most once per `refreshInterval`, so that a flood of submissions naming missing
/// images costs one podman run per interval, not one per submission.
public final class ImageCatalog: @unchecked Sendable {
    public let podman: String
    public let refreshInterval: Duration
    private let lock = NSLock()
    private var images: [ContainerImage] = []
    private var refreshedAt: ContinuousClock.Instant?
    private var lastError: ImageError?

    public init(podman: String, refreshInterval: Duration = .seconds(2)) {
        self.podman = podman
        self.refreshInterval = refreshInterval
    }

    /// The image a reference names (a name with or without its registry and tag, or an id of at
    /// least 12 hex digits), asking podman again if it is not known and the list may be stale.
    public func lookup(_ reference: String) -> ContainerImage? {
        if let image = Self.match(reference, in: snapshot()) { return image }
        guard refreshIfDue() else { return nil }
        return Self.match(reference, in: snapshot())
    }

    /// Every image, listed again first if the last listing is older than the refresh interval.
    public func current() -> [ContainerImage] {
        _ = refreshIfDue()
        return snapshot()
    }

    /// Why the last listing failed, if it did.
    public var failure: ImageError? { lock.withLock { lastError } }

    /// Lists the store again now.
    public func refresh() throws(ImageError) {
        let listed: [ContainerImage]
        do {
            listed = try Self.list(podman: podman)
        } catch {
            lock.withLock { lastError = error; refreshedAt = .now }
            throw error
        }
        lock.withLock {
            images = listed
            lastError = nil
            refreshedAt = .now
        }
    }

    private func snapshot() -> [ContainerImage] { lock.withLock { images } }

    private func refreshIfDue() -> Bool {
        let due = lock.withLock { refreshedAt.map { ContinuousClock.now - $0 >= refreshInterval } ?? true }
        guard due else { return false }
        return (try? refresh()) != nil
    }

    // MARK: - Matching (pure)

    /// The image `reference` names among `images`: an exact name, the name with `:latest`, with
    /// `docker.io/` (and `library/`) or `localhost/` before it, or an id prefix.
    public static func match(_ reference: String, in images: [ContainerImage]) -> ContainerImage? {
        let hex = reference.hasPrefix("sha256:") ? String(reference.dropFirst(7)) : reference
        if hex.count >= 12, hex.allSatisfy(\.isHexDigit) {
            if let image = images.first(where: { $0.id.hasPrefix(hex.lowercased()) }) { return image }
        }
        for candidate in candidates(of: reference) {
            if let image = images.first(where: { $0.names.contains(candidate) }) { return image }
        }
        return nil
    }

    static func candidates(of reference: String) -> [String] {
        let lastComponent = reference.split(separator: "/").last.map(String.init) ?? reference
        let tagged = reference.contains("@") || lastComponent.contains(":") ? reference : reference + ":latest"
        let firstComponent = tagged.split(separator: "/").first.map(String.init) ?? tagged
        let hasDomain = tagged.contains("/") && (firstComponent.contains(".") || firstComponent.contains(":") || firstComponent == "localhost")
        guard !hasDomain else {
            let path = tagged.dropFirst(firstComponent.count + 1)
            return firstComponent == "docker.io" && !path.contains("/") ? [reference, tagged, "docker.io/library/" + path] : [reference, tagged]
        }
        var names = [reference, tagged, "localhost/" + tagged, "docker.io/" + tagged]
        if !tagged.contains("/") { names.append("docker.io/library/" + tagged) }
        return names
    }

    // MARK: - Listing through podman

    /// The storage's images. An image removed between the listing and its inspection fails the
    /// inspection: the storage is then listed again (twice at most).
    static func list(podman: String) throws(ImageError) -> [ContainerImage] {
        var attempt = 0
        while true {
            do {
                return try listOnce(podman: podman)
            } catch where error.kind == .toolFailed && attempt < 2 {
                attempt += 1
            }
        }
    }

    static func listOnce(podman: String) throws(ImageError) -> [ContainerImage] {
        let listing = try run(podman, ["images", "--format", "json", "--no-trunc"])
        guard listing.status == 0 else {
            throw ImageError(.toolFailed, message: "`\(podman) images` failed (exit \(listing.status)): \(listing.standardError.trimmingCharacters(in: .whitespacesAndNewlines))", path: podman)
        }
        let ids = try parseIDs(listing.standardOutput, podman: podman)
        guard !ids.isEmpty else { return [] }
        var images: [ContainerImage] = []
        // Bounded command lines: a store of thousands of images is inspected in batches.
        for start in stride(from: 0, to: ids.count, by: 200) {
            let batch = Array(ids[start..<min(start + 200, ids.count)])
            let inspected = try run(podman, ["image", "inspect", "--format", "json"] + batch)
            guard inspected.status == 0 else {
                throw ImageError(.toolFailed, message: "`\(podman) image inspect` failed (exit \(inspected.status)): \(inspected.standardError.trimmingCharacters(in: .whitespacesAndNewlines))", path: podman)
            }
            images += try parseInspection(inspected.standardOutput, podman: podman)
        }
        return images
    }

    /// podman, run with a fixed environment (`HostCommand`); a failure to run it is a tool failure.
    static func run(_ podman: String, _ arguments: [String]) throws(ImageError) -> HostCommand {
        do { return try HostCommand.run(podman, arguments) } catch {
            throw ImageError(.toolFailed, message: error.reason ?? error.description, path: podman)
        }
    }

    static func parseIDs(_ output: [UInt8], podman: String) throws(ImageError) -> [String] {
        guard let entries = (try? JSONSerialization.jsonObject(with: Data(output))) as? [[String: Any]] else {
            throw ImageError(.toolFailed, message: "`\(podman) images --format json` printed something that is not a JSON list", path: podman)
        }
        let ids = entries.compactMap { $0["Id"] as? String }
        guard ids.allSatisfy({ $0.count == 64 && $0.allSatisfy(\.isHexDigit) }) else {
            throw ImageError(.toolFailed, message: "`\(podman) images` reported an image id that is not 64 hex digits", path: podman)
        }
        return Array(Set(ids)).sorted()
    }

    /// Images from `podman image inspect --format json`: Config (Entrypoint, Env, WorkingDir,
    /// User) and the overlay driver's layer directories (UpperDir, then LowerDir's, top first).
    static func parseInspection(_ output: [UInt8], podman: String) throws(ImageError) -> [ContainerImage] {
        guard let entries = (try? JSONSerialization.jsonObject(with: Data(output))) as? [[String: Any]] else {
            throw ImageError(.toolFailed, message: "`\(podman) image inspect` printed something that is not a JSON list", path: podman)
        }
        return try entries.map { entry throws(ImageError) in
            guard let id = entry["Id"] as? String else {
                throw ImageError(.toolFailed, message: "`\(podman) image inspect` gave an image without an Id", path: podman)
            }
            let config = entry["Config"] as? [String: Any] ?? [:]
            let driver = entry["GraphDriver"] as? [String: Any] ?? [:]
            let data = driver["Data"] as? [String: String] ?? [:]
            guard driver["Name"] as? String == "overlay", let upper = data["UpperDir"] else {
                throw ImageError(.unsupportedStorage, message: "image \(id.prefix(12)) is stored with the \(driver["Name"] as? String ?? "unknown") storage driver; trainingd stacks overlay layers only: set driver = \"overlay\" in /etc/containers/storage.conf", path: podman)
            }
            let layers = [upper] + (data["LowerDir"].map { $0.split(separator: ":").map(String.init) } ?? [])
            guard layers.allSatisfy({ $0.hasPrefix("/") && !$0.contains(",") }) else {
                throw ImageError(.toolFailed, message: "image \(id.prefix(12)) has a layer directory that is not an absolute path without commas", path: podman)
            }
            var environment: [String: String] = [:]
            for variable in config["Env"] as? [String] ?? [] {
                guard let equals = variable.firstIndex(of: "=") else { continue }
                environment[String(variable[..<equals])] = String(variable[variable.index(after: equals)...])
            }
            let names = (entry["RepoTags"] as? [String] ?? []) + (entry["RepoDigests"] as? [String] ?? [])
            return ContainerImage(id: id, names: names, layers: layers, entrypoint: config["Entrypoint"] as? [String] ?? [],
                                  environment: environment, workingDirectory: config["WorkingDir"] as? String ?? "",
                                  user: config["User"] as? String ?? "")
        }
    }
}
