import Foundation
import Testing
import TrainingCore

/// The control socket under abuse: more connections than the cap, connections that go silent
/// or stop halfway through a request, bodies over the cap, and many readers of a large log.
@Suite("Control socket limits")
struct ControlLimitsEndToEndTests {
    static let idleTimeout = 1.0

    /// `idle`: the connection-cap test takes 2 s, so that a busy machine cannot close its idle
    /// connections before the over-cap one has been turned away.
    static func limitedDaemon(cap: Int = 16, idle: Double = idleTimeout) throws -> DaemonHarness {
        let daemon = try DaemonHarness(config: """
            [control]
            max_connections = \(cap)
            idle_timeout_seconds = \(Int(idle))
            """)
        try daemon.start()
        return daemon
    }

    @Test("over the cap a connection is told so and closed; connected clients, the spool and freed slots still work")
    func connectionCap() throws {
        let idleTimeout = 2.0
        let daemon = try Self.limitedDaemon(idle: idleTimeout)
        let ok = try daemon.script("ok.sh", "echo fine")
        // The cap (16) taken: 15 connections that say nothing, and one client at work.
        let idle = try (0..<15).map { _ in try RawConnection(path: daemon.socket) }
        let working = try RawConnection(path: daemon.socket)
        working.send(RawConnection.request("SageMaker.CreateTrainingJob", daemon.definition(name: "capped", image: ok).serialized()))
        #expect(working.response(within: 5)?.status == 200)

        let over = try RawConnection(path: daemon.socket)
        let refusal = over.response(within: 2)
        #expect(refusal?.status == 503)
        #expect(refusal?.body.contains("\"__type\":\"ThrottlingException\"") == true)
        #expect(refusal?.body.contains("maximum of 16 connections ([control] max_connections)") == true, "\(refusal?.body ?? "no answer")")
        #expect(over.waitForEOF(2))

        // The client already connected is still served; so is the spool, which needs no connection.
        working.send(RawConnection.request("SageMaker.DescribeTrainingJob", #"{"TrainingJobName": "capped"}"#))
        #expect(working.response(within: 5)?.body.contains("\"TrainingJobName\":\"capped\"") == true)
        try daemon.submit(daemon.definition(name: "spooled", image: ok), as: "spooled.json")
        try daemon.waitFor("the spooled job to be accepted", timeout: 10) { try daemon.job("spooled") != nil }

        // Silent connections are closed at the idle timeout (and the working one once it is silent too).
        let started = Date()
        for connection in idle + [working] { #expect(connection.waitForEOF(idleTimeout + 4)) }
        let waited = Date().timeIntervalSince(started)
        print("idle connections closed within \(String(format: "%.2f", waited)) s of an idle timeout of \(idleTimeout) s")
        #expect(waited < idleTimeout + 4)

        // Their slots are free again.
        let describe = try daemon.jobctl(["describe", "spooled"])
        #expect(describe.status == 0, "\(describe.stderr)")
        #expect(try daemon.waitForEnd("capped").lifecycle.status == .completed)
    }

    @Test("jobctl over the cap prints the cap and the key to raise")
    func jobctlOverCap() throws {
        let daemon = try Self.limitedDaemon(cap: 2)
        let held = try (0..<2).map { _ in try RawConnection(path: daemon.socket) }
        let refused = try daemon.jobctl(["list"])
        #expect(refused.status == 5)
        #expect(refused.stderr.contains("ThrottlingException: trainingd is serving its maximum of 2 connections ([control] max_connections)"), "\(refused.stderr)")
        withExtendedLifetime(held) {}
    }

    @Test("a request stopped halfway is answered 408 and closed at the idle timeout; a Content-Length over the cap is refused at once")
    func halfSentRequests() throws {
        let daemon = try Self.limitedDaemon()
        let headOnly = try RawConnection(path: daemon.socket)
        headOnly.send("POST / HTTP/1.1\r\nHost: localhost\r\nX-Amz-Target: Trainingd.Ping\r\nContent-Length: 100\r\n\r\n")
        let partHead = try RawConnection(path: daemon.socket)
        partHead.send("POST / HTTP/1.1\r\nHost: localhost\r\nX-Amz-Tar")
        let halfBody = try RawConnection(path: daemon.socket)
        halfBody.send("POST / HTTP/1.1\r\nHost: localhost\r\nX-Amz-Target: SageMaker.CreateTrainingJob\r\nContent-Length: \(4 * 1024 * 1024)\r\n\r\n")
        halfBody.send([UInt8](repeating: UInt8(ascii: " "), count: 1024))

        // Refused from its head alone: nothing of the body is sent, the answer comes at once.
        let tooLarge = try RawConnection(path: daemon.socket)
        let asked = Date()
        tooLarge.send("POST / HTTP/1.1\r\nHost: localhost\r\nX-Amz-Target: SageMaker.CreateTrainingJob\r\nContent-Length: \(5 * 1024 * 1024)\r\n\r\n")
        let refusal = tooLarge.response(within: 2)
        #expect(Date().timeIntervalSince(asked) < Self.idleTimeout)
        #expect(refusal?.status == 413)
        #expect(refusal?.body.contains("\"__type\":\"RequestEntityTooLargeException\"") == true)
        #expect(refusal?.body.contains("larger than") == true)
        #expect(tooLarge.waitForEOF(2))

        // A chunked body is refused as soon as it passes the cap, before its end.
        let chunked = try RawConnection(path: daemon.socket)
        chunked.send("POST / HTTP/1.1\r\nHost: localhost\r\nX-Amz-Target: SageMaker.CreateTrainingJob\r\nTransfer-Encoding: chunked\r\n\r\n")
        let chunk = Array("100000\r\n".utf8) + [UInt8](repeating: UInt8(ascii: " "), count: 1 << 20) + Array("\r\n".utf8)
        for _ in 0..<6 where chunked.send(chunk) {}
        let chunkedRefusal = chunked.response(within: 2)
        #expect(chunkedRefusal?.status == 413)
        #expect(chunked.waitForEOF(2))

        let started = Date()
        for connection in [headOnly, partHead, halfBody] {
            #expect(connection.waitForEOF(Self.idleTimeout + 4))
            #expect(connection.text.hasPrefix("HTTP/1.1 408"), "\(connection.text)")
            #expect(connection.text.contains("\"__type\":\"RequestTimeoutException\""))
        }
        let waited = Date().timeIntervalSince(started)
        print("half-sent requests closed after \(String(format: "%.2f", waited)) s (idle timeout \(Self.idleTimeout) s)")
        #expect(waited < Self.idleTimeout + 4)
        // A connection that stays silent between requests is fine until the timeout: it is served.
        let prompt = try RawConnection(path: daemon.socket)
        prompt.send(RawConnection.request("Trainingd.Ping", "{}"))
        #expect(prompt.response(within: 5)?.status == 200)
    }

    @Test("an open-file limit too low for the cap lowers the cap, with a warning that says what to raise")
    func descriptorLimit() throws {
        let daemon = try DaemonHarness()
        // 300 descriptors: 256 kept for the daemon, 2 per connection, so 22 connections.
        try daemon.start(prefix: ["/usr/bin/prlimit", "--nofile=300:300", "--"])
        #expect(daemon.stderr.contains("[control] max_connections is 1024, but the open-file limit (RLIMIT_NOFILE) of 300 holds only 22 connections"), "\(daemon.stderr)")
        let held = try (0..<22).map { _ in try RawConnection(path: daemon.socket) }
        let over = try RawConnection(path: daemon.socket)
        let refusal = over.response(within: 5)
        #expect(refusal?.status == 503)
        #expect(refusal?.body.contains("maximum of 22 connections") == true, "\(refusal?.body ?? "no answer")")
        withExtendedLifetime(held) {}
    }
}
