import Foundation
import TrainingFiles

/// Where this machine's cgroup controllers are, as the daemon sees them: for each hierarchy
/// (v2's unified one, or a v1 hierarchy per controller) the daemon's own cgroup directory in it
/// and the resources it limits. Pure: built from the text of /proc/self/mountinfo,
/// /proc/self/cgroup and the unified cgroup's `cgroup.controllers`.
public struct CgroupLayout: Sendable, Equatable {
    public enum Version: String, Sendable { case v1, v2 }

    public struct Hierarchy: Sendable, Equatable {
        public var version: Version
        /// The daemon's own cgroup in this hierarchy, as a directory of the cgroup file system.
        public var ownDirectory: String
        public var resources: Set<LimitedResource>

        public init(version: Version, ownDirectory: String, resources: Set<LimitedResource>) {
            self.version = version
            self.ownDirectory = ownDirectory
            self.resources = resources
        }
    }

    public var hierarchies: [Hierarchy]

    public init(hierarchies: [Hierarchy]) { self.hierarchies = hierarchies }

    /// The resources no hierarchy here limits.
    public var missing: [LimitedResource] {
        LimitedResource.allCases.filter { resource in !hierarchies.contains { $0.resources.contains(resource) } }
    }

    /// What to tell an administrator when each start of a job waits on the kernel, or nil: moving a
    /// process into a v1 cgroup takes the kernel's `cgroup_threadgroup_rwsem` for writing, which
    /// waits for an RCU grace period (about 10 ms here; bench/RESULTS.md) unless the kernel
    /// expedites grace periods. `rcuExpedited` is the text of /sys/kernel/rcu_expedited (nil when
    /// it cannot be read). Given for v1 hierarchies only, where it was measured; v2 offers its own
    /// ways around the wait (the `favordynmods` mount option, `CLONE_INTO_CGROUP`). `warmKeepers`
    /// (`[jobs] warm_keepers`) joined ahead: then only starts that find none ready wait.
    public func slowJoinAdvice(rcuExpedited: String?, warmKeepers: Int = 0) -> String? {
        guard hierarchies.contains(where: { $0.version == .v1 }),
              rcuExpedited?.trimmingCharacters(in: .whitespacesAndNewlines) == "0" else { return nil }
        let who = warmKeepers > 0
            ? "a job host's start that finds none of the \(warmKeepers) warm keepers ready ([jobs] warm_keepers) waits"
            : "each job host's start waits"
        return "cgroup v1: \(who) for an RCU grace period (about 10 ms) when it joins its cgroups; "
            + "`echo 1 > /sys/kernel/rcu_expedited` (or the kernel parameter rcupdate.rcu_expedited=1) removes the wait, "
            + "at the cost of expedited grace periods machine-wide (docs/configuration.md, \"Limits\")"
    }

    /// The v1 controller name of each resource (v2 names them the same).
    static func controller(_ resource: LimitedResource) -> String { resource.rawValue }

    /// This process's layout, from the kernel's files.
    public static func ofThisProcess() -> CgroupLayout {
        detect(mountInfo: ProcFile.read("/proc/self/mountinfo") ?? "", ownCgroups: ProcFile.read("/proc/self/cgroup") ?? "",
               unifiedControllers: { ProcFile.read($0 + "/cgroup.controllers") })
    }

    /// Reads the layout. `unifiedControllers` gives the `cgroup.controllers` of a v2 directory (nil
    /// when it cannot be read). A controller mounted as v1 is used there; one v2 offers the
    /// daemon's cgroup is used in the unified hierarchy.
    public static func detect(mountInfo: String, ownCgroups: String, unifiedControllers: (String) -> String?) -> CgroupLayout {
        // /proc/self/cgroup: "ID:CONTROLLERS:PATH"; v2's line is "0::PATH".
        var ownPaths: [String: String] = [:]
        var unifiedPath: String?
        for line in ownCgroups.split(separator: "\n") {
            let fields = line.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
            guard fields.count == 3 else { continue }
            if fields[0] == "0", fields[1].isEmpty { unifiedPath = String(fields[2]) }
            for controller in fields[1].split(separator: ",") { ownPaths[String(controller)] = String(fields[2]) }
        }
        var hierarchies: [Hierarchy] = []
        var covered = Set<LimitedResource>()
        var unifiedMount: (point: String, root: String)?
        for line in mountInfo.split(separator: "\n") {
            // "ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS [OPTIONAL...] - FSTYPE SOURCE SUPEROPTIONS"
            let halves = line.components(separatedBy: " - ")
            guard halves.count == 2 else { continue }
            let left = halves[0].split(separator: " "), right = halves[1].split(separator: " ")
            guard left.count >= 5, right.count >= 3 else { continue }
            let root = unescape(String(left[3])), point = unescape(String(left[4]))
            if right[0] == "cgroup2" {
                if unifiedMount == nil { unifiedMount = (point, root) }
                continue
            }
            guard right[0] == "cgroup" else { continue }
            let options = Set(right[2].split(separator: ",").map(String.init))
            let resources = Set(LimitedResource.allCases.filter { options.contains(controller($0)) && !covered.contains($0) })
            guard !resources.isEmpty, let own = resources.lazy.compactMap({ ownPaths[controller($0)] }).first,
                  let directory = directory(mountPoint: point, mountRoot: root, ownPath: own) else { continue }
            hierarchies.append(Hierarchy(version: .v1, ownDirectory: directory, resources: resources))
            covered.formUnion(resources)
        }
        if let unifiedMount, let unifiedPath, let directory = directory(mountPoint: unifiedMount.point, mountRoot: unifiedMount.root, ownPath: unifiedPath),
           let offered = unifiedControllers(directory) {
            let names = Set(offered.split(whereSeparator: { $0 == " " || $0 == "\n" }).map(String.init))
            let resources = Set(LimitedResource.allCases.filter { $0 != .devices && names.contains(controller($0)) && !covered.contains($0) })
            if !resources.isEmpty { hierarchies.append(Hierarchy(version: .v2, ownDirectory: directory, resources: resources)) }
        }
        return CgroupLayout(hierarchies: hierarchies)
    }

    /// The daemon's cgroup directory: the mount point plus its path below the mount's root
    /// (a container's cgroup mount may show only a subtree); nil when it lies outside it.
    static func directory(mountPoint: String, mountRoot: String, ownPath: String) -> String? {
        let root = mountRoot == "/" ? "" : mountRoot
        guard ownPath == root || ownPath.hasPrefix(root + "/") || root.isEmpty else { return nil }
        let below = String(ownPath.dropFirst(root.count))
        let joined = mountPoint + (below == "/" ? "" : below)
        return joined.hasSuffix("/") && joined.count > 1 ? String(joined.dropLast()) : joined
    }

    /// mountinfo escapes space, tab, newline and backslash as octal.
    private static func unescape(_ field: String) -> String {
        field.replacingOccurrences(of: "\\040", with: " ").replacingOccurrences(of: "\\011", with: "\t")
            .replacingOccurrences(of: "\\012", with: "\n").replacingOccurrences(of: "\\134", with: "\\")
    }
}
