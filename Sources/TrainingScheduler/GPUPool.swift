public import TrainingCore

/// The machine's GPUs and which job host holds each: whole GPUs, never two holders at once.
///
/// Pure and in memory, like ``JobQueue``: the supervisor asks it before a job starts, records
/// what it was given in the store before the job runs, and gives back the assignments of
/// adopted jobs at a restart (``restore(job:_:)``), so that nothing is handed out twice.
public struct GPUPool: Sendable {
    public let devices: [GPUDevice]
    /// Each job's GPUs, by host name.
    private var held: [String: [String: [GPUDevice]]] = [:]

    public init(devices: [GPUDevice]) {
        self.devices = devices.sorted { $0.index < $1.index }
    }

    public var free: [GPUDevice] {
        let taken = Set(held.values.flatMap { $0.values.flatMap { $0 } })
        return devices.filter { !taken.contains($0) }
    }

    public func assignment(of job: String) -> [String: [GPUDevice]]? { held[job] }

    /// Whole GPUs for each host of `job` (`perHost`: GPUs by host name), lowest indexes first;
    /// nil, and nothing taken, when the free ones are too few. A job asking for none gets `[:]`.
    public mutating func assign(job: String, perHost: [(host: String, count: Int)]) -> [String: [GPUDevice]]? {
        if let existing = held[job] { return existing }
        let wanted = perHost.reduce(0) { $0 + $1.count }
        guard wanted > 0 else { return [:] }
        var available = free
        guard available.count >= wanted else { return nil }
        var assignment: [String: [GPUDevice]] = [:]
        for (host, count) in perHost where count > 0 {
            assignment[host] = Array(available.prefix(count))
            available.removeFirst(count)
        }
        held[job] = assignment
        return assignment
    }

    /// Takes back what an adopted job holds (as recorded when it started). GPUs the machine no
    /// longer has, or that another job holds already, are left out and returned.
    @discardableResult
    public mutating func restore(job: String, _ assignment: [String: [GPUDevice]]) -> [GPUDevice] {
        let known = Set(devices)
        var taken = Set(held.filter { $0.key != job }.values.flatMap { $0.values.flatMap { $0 } })
        var kept: [String: [GPUDevice]] = [:]
        var refused: [GPUDevice] = []
        for (host, gpus) in assignment.sorted(by: { $0.key < $1.key }) {
            for gpu in gpus {
                if known.contains(gpu), !taken.contains(gpu) {
                    kept[host, default: []].append(gpu)
                    taken.insert(gpu)
                } else {
                    refused.append(gpu)
                }
            }
        }
        held[job] = kept.isEmpty ? nil : kept
        return refused
    }

    /// Gives back a job's GPUs (it ended, or will not start now).
    public mutating func release(job: String) {
        held[job] = nil
    }
}
