public import Foundation
public import TrainingSigV4
public import TrainingObjectStore
import AsyncHTTPClient
import CTrainingShim
import NIOCore
import NIOHTTP1
#if canImport(FoundationXML)
import FoundationXML
#endif

/// What S3 (or the network) answered instead of success, with the bucket and key it was about.
public struct S3Error: Error, Sendable, CustomStringConvertible {
    /// S3's error code (`NoSuchBucket`, `SignatureDoesNotMatch`, ...), or `NetworkError`.
    public var code: String
    public var message: String
    public var bucket: String
    public var key: String?
    /// The HTTP status, 0 when no answer came.
    public var status: Int

    public var description: String {
        let object = key.map { "s3://\(bucket)/\($0)" } ?? "s3://\(bucket)"
        return "\(object): \(code): \(message)" + (status > 0 ? " (HTTP \(status))" : "")
    }

    /// Worth trying again: the server's own trouble or throttling, or no answer at all.
    var isTransient: Bool {
        guard code != "LocalError", code != "InvalidURI" else { return false }  // this side's: trying again changes nothing
        return status == 0 || status >= 500 || status == 429 || code == "SlowDown" || code == "Throttling" || code == "RequestTimeout"
    }
}

/// The handful of S3 calls trainingd needs, signed with ``SigV4Signer``: ListObjectsV2 (paginated),
/// GetObject (into a file, or a range into memory), PutObject (from a file or a buffer), the
/// multipart calls, DeleteObject, HeadObject. Transient failures (5xx, throttling, no answer) are
/// tried again with backoff. Synchronous: it runs in worker processes, never on a thread acting
/// as a user (the HTTP client's event loop threads would not act as that user); each call blocks
/// its thread until its answer, with at most ``maximumRequestsInFlight`` requests at once per
/// process.
///
/// HTTP is AsyncHTTPClient's (SwiftNIO, TLS by BoringSSL through swift-nio-ssl), one client per
/// process: Foundation's URLSession on Linux spent about five times the AWS CLI's CPU on an
/// upload (a Dispatch hop per socket write), which on two cores shared with the server made
/// transfers slower than the CLI's.
public final class S3Client: @unchecked Sendable {
    public struct Configuration: Sendable {
        /// `http://127.0.0.1:9000` or `https://s3.us-east-1.amazonaws.com`.
        public var endpoint: URL
        public var region: String
        public var credentials: AWSCredentials
        /// `endpoint/bucket/key` (true) or `bucket.endpoint/key`.
        public var pathStyle: Bool
        /// Attempts for a transient failure, the first included.
        public var attempts: Int
        /// The first backoff; it doubles with each retry.
        public var backoff: Double

        public init(endpoint: URL, region: String, credentials: AWSCredentials, pathStyle: Bool = true, attempts: Int = 4, backoff: Double = 0.1) {
            self.endpoint = endpoint
            self.region = region
            self.credentials = credentials
            self.pathStyle = pathStyle
            self.attempts = attempts
            self.backoff = backoff
        }
    }

    public let configuration: Configuration
    /// The process's HTTP client: connections are pooled per host across S3Clients. A static is
    /// never deinitialised, so it needs no shutdown.
    private static let http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: {
        var configuration = HTTPClient.Configuration(timeout: .init(connect: .seconds(10), read: .seconds(60)))
        configuration.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = maximumRequestsInFlight
        configuration.httpVersion = .http1Only
        configuration.decompression = .disabled
        return configuration
    }())
    /// Requests in flight in this process, across clients (the AWS CLI's max_concurrent_requests
    /// is 10 too): objects and parts are transferred on more threads than that, and each waits
    /// here, so that memory (a part's buffer per request) and connections stay bounded.
    public static let maximumRequestsInFlight = 10
    private static let requestSlots = DispatchSemaphore(value: maximumRequestsInFlight)
    private let signer: SigV4Signer

    public init(_ configuration: Configuration) {
        self.configuration = configuration
        signer = SigV4Signer(credentials: configuration.credentials, region: configuration.region, service: "s3")
    }

    /// Every object under `prefix`, in key order, across as many pages as S3 returns; with
    /// `limit`, only the first page of at most that many (a check that something is there).
    public func listObjects(bucket: String, prefix: String, limit: Int? = nil) throws(S3Error) -> [StoredObject] {
        var objects: [StoredObject] = []
        var token: String?
        repeat {
            var query = [(name: "list-type", value: "2"), (name: "prefix", value: prefix)]
            if let limit { query.append((name: "max-keys", value: String(limit))) }
            if let token { query.append((name: "continuation-token", value: token)) }
            let (data, _) = try send("GET", bucket: bucket, key: nil, query: query)
            guard let page = ListingParser.parse(data), !page.truncated || page.nextToken != nil else {
                throw S3Error(code: "MalformedResponse", message: "the listing of prefix '\(prefix)' is not ListObjectsV2 XML the client can read",
                              bucket: bucket, key: nil, status: 200)
            }
            objects += page.objects
            token = page.truncated && limit == nil ? page.nextToken : nil
        } while token != nil
        return objects
    }

    /// The object's bytes into `path` (written under a temporary name, then renamed).
    public func getObject(bucket: String, key: String, to path: String) throws(S3Error) {
        let temporary = path + ".part-\(getpid())"
        _ = try send("GET", bucket: bucket, key: key, query: [], downloadTo: temporary)
        guard rename(temporary, path) == 0 else {
            let code = errno
            unlink(temporary)
            throw S3Error(code: "LocalError", message: "cannot move the object into \(path): \(String(cString: strerror(code)))", bucket: bucket, key: key, status: 0)
        }
    }

    /// The file at `path` as the object `key`.
    public func putObject(bucket: String, key: String, from path: String) throws(S3Error) {
        _ = try send("PUT", bucket: bucket, key: key, query: [], uploadFrom: path)
    }

    /// `data` as the object `key`.
    public func putObject(bucket: String, key: String, data: Data) throws(S3Error) {
        _ = try send("PUT", bucket: bucket, key: key, query: [], body: data)
    }

    public func deleteObject(bucket: String, key: String) throws(S3Error) {
        _ = try send("DELETE", bucket: bucket, key: key, query: [])
    }

    /// The object's size, or nil when there is none.
    public func headObject(bucket: String, key: String) throws(S3Error) -> UInt64? {
        do {
            let (_, response) = try send("HEAD", bucket: bucket, key: key, query: [])
            return response.header("content-length").flatMap { UInt64($0) }
        } catch where error.status == 404 {
            return nil
        }
    }

    /// Bytes `range` of the object (a ranged GetObject): one part of a parallel download.
    public func getObject(bucket: String, key: String, range: ClosedRange<UInt64>) throws(S3Error) -> Data {
        let (data, response) = try send("GET", bucket: bucket, key: key, query: [],
                                        headers: [(name: "range", value: "bytes=\(range.lowerBound)-\(range.upperBound)")])
        // A server that ignores Range answers 200 with the whole object: take the part from it.
        if response.status == 200, data.count > range.count {
            guard data.count > Int(range.upperBound) else {
                throw S3Error(code: "IncompleteBody", message: "the object is shorter than listed (\(data.count) bytes); it changed while it was read",
                              bucket: bucket, key: key, status: 200)
            }
            return data.subdata(in: Int(range.lowerBound)..<Int(range.upperBound + 1))
        }
        guard data.count == range.count else {
            throw S3Error(code: "IncompleteBody", message: "asked for \(range.count) bytes, received \(data.count)", bucket: bucket, key: key, status: response.status)
        }
        return data
    }

    /// One uploaded part: its ETag and the CRC32 the server checked it against.
    public struct UploadedPart: Sendable, Equatable {
        public let etag: String
        /// base64 of the big-endian CRC32, as S3's `x-amz-checksum-crc32`.
        public let crc32: String
    }

    /// CreateMultipartUpload: the upload's id. The upload declares CRC32 part checksums: a server
    /// told nothing computes a checksum of the whole object at completion instead (moto copies
    /// the object twice to do so), and a part corrupted on the way is caught by the part's own.
    public func createMultipartUpload(bucket: String, key: String) throws(S3Error) -> String {
        let (data, _) = try send("POST", bucket: bucket, key: key, query: [(name: "uploads", value: "")],
                                 headers: [(name: "x-amz-checksum-algorithm", value: "CRC32")])
        guard let id = ElementText.first("UploadId", in: data), !id.isEmpty else {
            throw S3Error(code: "MalformedResponse", message: "CreateMultipartUpload answered without an UploadId", bucket: bucket, key: key, status: 200)
        }
        return id
    }

    /// UploadPart: `number` (1...10000) of upload `id`, with its CRC32; what the completion lists.
    public func uploadPart(bucket: String, key: String, uploadID: String, number: Int, data: Data) throws(S3Error) -> UploadedPart {
        let crc32 = PartChecksum.crc32Base64(of: data)
        let (_, response) = try send("PUT", bucket: bucket, key: key,
                                     query: [(name: "partNumber", value: String(number)), (name: "uploadId", value: uploadID)], body: data,
                                     headers: [(name: "x-amz-checksum-crc32", value: crc32), (name: "x-amz-sdk-checksum-algorithm", value: "CRC32")])
        guard let etag = response.header("etag") else {
            throw S3Error(code: "MalformedResponse", message: "UploadPart \(number) answered without an ETag", bucket: bucket, key: key, status: response.status)
        }
        return UploadedPart(etag: etag, crc32: crc32)
    }

    /// CompleteMultipartUpload with the parts in order: the object appears whole, at once.
    public func completeMultipartUpload(bucket: String, key: String, uploadID: String, parts: [UploadedPart]) throws(S3Error) {
        var xml = "<CompleteMultipartUpload>"
        for (index, part) in parts.enumerated() {
            xml += "<Part><PartNumber>\(index + 1)</PartNumber><ETag>\(ElementText.escaped(part.etag))</ETag>"
            xml += "<ChecksumCRC32>\(part.crc32)</ChecksumCRC32></Part>"
        }
        xml += "</CompleteMultipartUpload>"
        let (data, response) = try send("POST", bucket: bucket, key: key, query: [(name: "uploadId", value: uploadID)], body: Data(xml.utf8))
        // S3 may answer 200 with an error document when the completion fails late.
        if let code = ElementText.first("Code", in: data) {
            throw S3Error(code: code, message: ElementText.first("Message", in: data) ?? "CompleteMultipartUpload failed", bucket: bucket, key: key,
                          status: response.status)
        }
    }

    /// AbortMultipartUpload: the parts uploaded so far are discarded.
    public func abortMultipartUpload(bucket: String, key: String, uploadID: String) throws(S3Error) {
        _ = try send("DELETE", bucket: bucket, key: key, query: [(name: "uploadId", value: uploadID)])
    }

    // MARK: - Requests

    private func send(_ method: String, bucket: String, key: String?, query: [(name: String, value: String)],
                      uploadFrom: String? = nil, downloadTo: String? = nil, body: Data? = nil,
                      headers extraHeaders: [(name: String, value: String)] = []) throws(S3Error) -> (Data, S3Response) {
        var delay = configuration.backoff
        var attempt = 1
        while true {
            do {
                return try sendOnce(method, bucket: bucket, key: key, query: query, uploadFrom: uploadFrom, downloadTo: downloadTo,
                                    body: body, extraHeaders: extraHeaders)
            } catch where error.isTransient && attempt < configuration.attempts {
                Thread.sleep(forTimeInterval: delay)
                delay *= 2
                attempt += 1
            }
        }
    }

    private func sendOnce(_ method: String, bucket: String, key: String?, query: [(name: String, value: String)],
                          uploadFrom: String?, downloadTo: String?, body: Data?,
                          extraHeaders: [(name: String, value: String)]) throws(S3Error) -> (Data, S3Response) {
        // Never on a thread acting as a user (FileSystemIdentity): the answer is written on the HTTP
        // client's event loop threads, which keep the process's own identity.
        precondition(ctshim_current_fsuid() == geteuid(), "S3Client used on a thread acting as another user")
        // The slot first, then the signature: a request never waits with its date going stale.
        Self.requestSlots.wait()
        defer { Self.requestSlots.signal() }
        let endpoint = configuration.endpoint
        let host = (endpoint.host ?? "localhost") + (endpoint.port.map { ":\($0)" } ?? "")
        let path = configuration.pathStyle ? "/" + bucket + (key.map { "/" + $0 } ?? "/") : "/" + (key ?? "")
        let requestHost = configuration.pathStyle ? host : bucket + "." + host
        let now = Date()
        // Over plain HTTP the body is signed too, as AWS's SDKs do there: nothing else protects it on
        // the way (over TLS, UNSIGNED-PAYLOAD saves hashing what TLS already protects). A file sent
        // whole (`uploadFrom`) is small and read below; only in-memory bodies are hashed here.
        let payloadHash = body.map { (endpoint.scheme ?? "https") == "http" ? SigV4Signer.hexSHA256($0) : "UNSIGNED-PAYLOAD" } ?? "UNSIGNED-PAYLOAD"
        var headers = [(name: "host", value: requestHost), (name: "x-amz-content-sha256", value: payloadHash)] + signer.headers(date: now)
            + extraHeaders
        if let body { headers.append((name: "content-length", value: String(body.count))) }
        if let uploadFrom {
            var info = stat()
            guard stat(uploadFrom, &info) == 0 else {
                throw S3Error(code: "LocalError", message: "cannot read \(uploadFrom): \(String(cString: strerror(errno)))", bucket: bucket, key: key, status: 0)
            }
            headers.append((name: "content-length", value: String(info.st_size)))
        }
        let signed = SigV4Signer.Request(method: method, path: path, query: query, headers: headers, payloadHash: payloadHash)
        let authorization = signer.authorization(signed, date: now)

        let encodedPath = path.split(separator: "/", omittingEmptySubsequences: false).map { SigV4Signer.uriEncode(String($0)) }
            .joined(separator: "/")
        let encodedQuery = query.map { SigV4Signer.uriEncode($0.name) + "=" + SigV4Signer.uriEncode($0.value) }.joined(separator: "&")
        let scheme = endpoint.scheme ?? "https"
        guard let url = URL(string: "\(scheme)://\(requestHost)\(encodedPath)\(encodedQuery.isEmpty ? "" : "?" + encodedQuery)") else {
            throw S3Error(code: "InvalidURI", message: "the request URL cannot be built", bucket: bucket, key: key, status: 0)
        }
        var requestHeaders = HTTPHeaders()
        requestHeaders.add(name: "Host", value: requestHost)
        for header in headers where header.name != "host" && header.name != "content-length" { requestHeaders.add(name: header.name, value: header.value) }
        requestHeaders.add(name: "Authorization", value: authorization)
        let requestBody: HTTPClient.Body?
        if let body {
            requestBody = .byteBuffer(ByteBuffer(bytes: body))
        } else if let uploadFrom {
            // Small objects only (a large file goes up in parts): read whole, sent as one buffer.
            guard let contents = FileManager.default.contents(atPath: uploadFrom) else {
                throw S3Error(code: "LocalError", message: "cannot read \(uploadFrom): \(String(cString: strerror(errno)))", bucket: bucket, key: key, status: 0)
            }
            requestBody = .byteBuffer(ByteBuffer(bytes: contents))
        } else {
            requestBody = nil
        }
        let request: HTTPClient.Request
        do {
            request = try HTTPClient.Request(url: url, method: HTTPMethod(rawValue: method), headers: requestHeaders, body: requestBody)
        } catch {
            throw S3Error(code: "InvalidURI", message: "the request URL cannot be built: \(error)", bucket: bucket, key: key, status: 0)
        }
        let collector: ResponseCollector
        if let downloadTo, method == "GET" {
            let fd = open(downloadTo, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
            guard fd >= 0 else {
                throw S3Error(code: "LocalError", message: "cannot create \(downloadTo): \(String(cString: strerror(errno)))", bucket: bucket, key: key, status: 0)
            }
            collector = ResponseCollector(file: fd)
        } else {
            collector = ResponseCollector(file: nil)
        }
        let response: S3Response
        do {
            response = try Self.http.execute(request: request, delegate: collector, deadline: .now() + .seconds(600)).wait()
        } catch let error as S3Error {
            if downloadTo != nil { unlink(downloadTo!) }
            throw S3Error(code: error.code, message: error.message, bucket: bucket, key: key, status: 0)
        } catch {
            if let downloadTo { unlink(downloadTo) }
            throw S3Error(code: "NetworkError", message: "\(error)", bucket: bucket, key: key, status: 0)
        }
        guard (200..<300).contains(response.status) else {
            if let downloadTo { unlink(downloadTo) }
            let parsed = ErrorParser.parse(response.body)
            throw S3Error(code: parsed.code ?? (response.status == 404 ? "NotFound" : "HTTP\(response.status)"),
                          message: parsed.message ?? HTTPResponseStatus(statusCode: response.status).reasonPhrase,
                          bucket: bucket, key: key, status: response.status)
        }
        return (response.body, response)
    }
}

/// An answer's status, headers (names in lower case) and body (empty when it went to a file).
struct S3Response: Sendable {
    var status: Int
    var headers: [String: String]
    var body: Data

    func header(_ name: String) -> String? { headers[name] }
}

/// Collects an answer on the event loop: a successful GET's body straight into a file (written
/// as it arrives; a file in the page cache does not hold the loop up), anything else in memory
/// (listings, ranges of at most a part, error documents).
final class ResponseCollector: HTTPClientResponseDelegate, @unchecked Sendable {
    // @unchecked: every method runs on the request's event loop, one after another.
    typealias Response = S3Response
    private var file: Int32?
    private var status = 0
    private var headers: [String: String] = [:]
    private var body = Data()
    private var writeError: Int32 = 0

    init(file: Int32?) { self.file = file }

    deinit { if let file { close(file) } }

    func didReceiveHead(task: HTTPClient.Task<S3Response>, _ head: HTTPResponseHead) -> EventLoopFuture<Void> {
        status = Int(head.status.code)
        for (name, value) in head.headers { headers[name.lowercased()] = value }
        if !(200..<300).contains(status), let file {
            close(file)
            self.file = nil
        }
        return task.eventLoop.makeSucceededVoidFuture()
    }

    func didReceiveBodyPart(task: HTTPClient.Task<S3Response>, _ buffer: ByteBuffer) -> EventLoopFuture<Void> {
        guard let file else {
            body.append(contentsOf: buffer.readableBytesView)
            return task.eventLoop.makeSucceededVoidFuture()
        }
        buffer.withUnsafeReadableBytes { bytes in
            var offset = 0
            while offset < bytes.count, writeError == 0 {
                let count = write(file, bytes.baseAddress! + offset, bytes.count - offset)
                if count < 0 && errno == EINTR { continue }
                if count <= 0 { writeError = count < 0 ? errno : EIO } else { offset += count }
            }
        }
        return task.eventLoop.makeSucceededVoidFuture()
    }

    func didFinishRequest(task: HTTPClient.Task<S3Response>) throws -> S3Response {
        if let file {
            let closed = close(file)
            self.file = nil
            if writeError == 0, closed != 0 { writeError = errno }
        }
        if writeError != 0 {
            throw S3Error(code: "LocalError", message: "cannot write the object: \(String(cString: strerror(writeError)))", bucket: "", key: nil, status: 0)
        }
        return S3Response(status: status, headers: headers, body: body)
    }
}

/// ListObjectsV2's XML: `<Contents><Key>..</Key><Size>..</Size></Contents>`, `IsTruncated`,
/// `NextContinuationToken`.
final class ListingParser: NSObject, XMLParserDelegate {
    var objects: [StoredObject] = []
    var truncated = false
    var nextToken: String?
    private var text = ""
    private var key: String?
    private var size: UInt64 = 0

    /// nil when the document is not well-formed XML (a proxy's page, a cut answer).
    static func parse(_ data: Data) -> (objects: [StoredObject], truncated: Bool, nextToken: String?)? {
        let delegate = ListingParser()
        let parser = XMLParser(data: data)
        parser.delegate = delegate
        guard parser.parse() else { return nil }
        return (delegate.objects, delegate.truncated, delegate.nextToken)
    }

    func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?, attributes: [String: String] = [:]) {
        text = ""
        if name == "Contents" { key = nil; size = 0 }
    }

    func parser(_ parser: XMLParser, foundCharacters string: String) { text += string }

    func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
        switch name {
        case "Key": key = text
        case "Size": size = UInt64(text) ?? 0
        case "Contents": if let key { objects.append(StoredObject(key: key, size: size)) }
        case "IsTruncated": truncated = text == "true"
        case "NextContinuationToken": nextToken = text
        default: break
        }
    }
}

/// The text of the first element named `name` in an XML document (UploadId, Code, ...).
enum ElementText {
    static func first(_ name: String, in data: Data) -> String? {
        final class Finder: NSObject, XMLParserDelegate {
            let name: String
            var text = ""
            var inside = false
            var found: String?
            init(name: String) { self.name = name }
            func parser(_ parser: XMLParser, didStartElement element: String, namespaceURI: String?, qualifiedName: String?,
                        attributes: [String: String] = [:]) {
                if element == name, found == nil { inside = true; text = "" }
            }
            func parser(_ parser: XMLParser, foundCharacters string: String) { if inside { text += string } }
            func parser(_ parser: XMLParser, didEndElement element: String, namespaceURI: String?, qualifiedName: String?) {
                if element == name, inside { inside = false; found = text }
            }
        }
        let finder = Finder(name: name)
        let parser = XMLParser(data: data)
        parser.delegate = finder
        _ = parser.parse()
        return finder.found
    }

    static func escaped(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
            .replacingOccurrences(of: "\"", with: "&quot;")
    }
}

/// S3's error XML: `<Error><Code>..</Code><Message>..</Message></Error>`.
final class ErrorParser: NSObject, XMLParserDelegate {
    var code: String?
    var message: String?
    private var text = ""

    static func parse(_ data: Data) -> (code: String?, message: String?) {
        let delegate = ErrorParser()
        let parser = XMLParser(data: data)
        parser.delegate = delegate
        _ = parser.parse()
        return (delegate.code, delegate.message)
    }

    func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?, attributes: [String: String] = [:]) {
        text = ""
    }

    func parser(_ parser: XMLParser, foundCharacters string: String) { text += string }

    func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
        if name == "Code" { code = text }
        if name == "Message" { message = text }
    }
}
