public import Foundation
public import TrainingObjectStore
import Synchronization

extension S3Settings {
    /// The client for these settings: one per process and settings, so that its connections are
    /// reused by every location it serves (a Pipe channel resolves one per `-ref` object).
    public func client() -> S3Client {
        Self.clients.withLock { clients in
            if let client = clients[self] { return client }
            let client = S3Client(S3Client.Configuration(endpoint: URL(string: endpoint)!, region: region, credentials: credentials, pathStyle: pathStyle))
            clients[self] = client
            return client
        }
    }

    private static let clients = Mutex<[S3Settings: S3Client]>([:])
}

extension ObjectLocations {
    /// The store and key of `uri`: a directory store, or the S3 store of its bucket.
    public func resolve(_ uri: String) throws(StorageError) -> ResolvedLocation {
        switch try route(uri) {
        case .directory(let root, let key):
            return ResolvedLocation(store: DirectoryObjectStore(root: root), key: key)
        case .s3(let settings, let bucket, let key):
            return ResolvedLocation(store: S3ObjectStore(client: settings.client(), bucket: bucket), key: key)
        }
    }
}
