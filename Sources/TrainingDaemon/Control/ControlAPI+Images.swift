import Dispatch
import TrainingControl
import TrainingCore
import TrainingImages

/// Trainingd.ListImages: `jobctl images`, and `jobctl validate --config` for a user who cannot
/// read root's containers-storage. Runs on a queue of its own: listing may run podman (at most
/// once per the catalog's refresh interval, whoever asks).
extension ControlAPI {
    static let images = DispatchQueue(label: "trainingd.control.images")

    func listImages(_ request: APIRequest) throws(APIError) -> JSONValue {
        var entries: [JSONValue] = []
        for (name, entry) in supervisor.site.images.sorted(by: { $0.key < $1.key }) {
            var item = [JSONValue.Member("TrainingImage", .string(name)), JSONValue.Member("Source", "ImageTable")]
            if let reference = entry.reference { item.append(JSONValue.Member("Image", .string(reference))) }
            if !entry.entrypoint.isEmpty { item.append(JSONValue.Member("Entrypoint", .array(entry.entrypoint.map { .string($0) }))) }
            if let root = entry.rootFilesystem { item.append(JSONValue.Member("RootFilesystem", .string(root))) }
            entries.append(.object(item))
        }
        var storageError: String?
        if let catalog = Daemon.imageCatalog(podman: configuration.podman) {
            for image in catalog.current() {
                entries.append([
                    "Names": .array(image.names.map { .string($0) }), "ImageId": .string(image.id), "Source": "ContainerStorage",
                    "Entrypoint": .array(image.entrypoint.map { .string($0) }), "User": .string(image.user),
                    "WorkingDir": .string(image.workingDirectory), "Layers": .integer(Int64(image.layers.count)),
                ])
            }
            storageError = catalog.failure?.message
        } else {
            storageError = configuration.podman.isEmpty
                ? "container images are off ([containers] podman = \"\")" : "\(configuration.podman) is not installed: container images are not available"
        }
        var answer = [JSONValue.Member("Images", .array(entries))]
        if let storageError { answer.append(JSONValue.Member("StorageError", .string(storageError))) }
        return .object(answer)
    }
}
