import ArgumentParser
import Foundation
import TrainingControl
import TrainingCore

/// How to reach the daemon, shared by every command that talks to it.
struct ConnectionOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("The daemon's control socket.", valueName: "path"))
    var socket: String?

    @Option(name: .long, help: ArgumentHelp("The daemon's --root directory (uses its control.sock).", valueName: "dir"))
    var root: String?

    static let packagedSocket = "/run/trainingd/control.sock"

    /// --socket, then $TRAININGD_SOCKET, then --root DIR's control.sock, then the packaged path.
    var socketPath: String {
        if let socket { return socket }
        if let fromEnvironment = ProcessInfo.processInfo.environment["TRAININGD_SOCKET"], !fromEnvironment.isEmpty {
            return fromEnvironment
        }
        if let root { return (root.hasSuffix("/") ? String(root.dropLast()) : root) + "/control.sock" }
        return Self.packagedSocket
    }

    var client: ControlClient { ControlClient(socketPath: socketPath) }

    /// Calls the daemon; failures are printed as one line and end the command with the documented code.
    func call(_ operation: TrainingControl.Operation, _ body: JSONValue = .object([])) throws -> JSONValue {
        do {
            return try client.call(operation, body)
        } catch {
            throw Self.failure(error)
        }
    }

    static func failure(_ error: ClientError) -> ExitCode {
        FileHandle.standardError.write(Data("jobctl: \(error)\n".utf8))
        switch error {
        case .unreachable, .noAnswer: return ExitCode(ExitStatus.unreachable)
        case .api, .protocolError: return ExitCode(ExitStatus.refused)
        }
    }
}

/// Terminal output: colours only on a terminal (and not with NO_COLOR).
enum Terminal {
    static let colours = isatty(STDOUT_FILENO) == 1 && ProcessInfo.processInfo.environment["NO_COLOR"] == nil

    static func status(_ text: String) -> String {
        guard colours else { return text }
        let code: String
        switch text {
        case "Completed": code = "32"
        case "Failed": code = "31"
        case "Stopped", "Stopping", "MaxRuntimeExceeded", "MaxWaitTimeExceeded", "Interrupted": code = "33"
        default: return text
        }
        return "\u{1B}[\(code)m\(text)\u{1B}[0m"
    }

    /// Epoch seconds as local time, `2026-11-28 13:54:01`.
    static func time(_ value: JSONValue?) -> String {
        let seconds: Double
        switch value {
        case .double(let number)?: seconds = number
        case .integer(let number)?: seconds = Double(number)
        default: return "-"
        }
        let formatter = DateFormatter()
        formatter.dateFormat = "yyyy-MM-dd HH:mm:ss"
        return formatter.string(from: Date(timeIntervalSince1970: seconds))
    }

    /// `text` padded to `width` characters, never cut.
    static func pad(_ text: String, _ width: Int) -> String {
        text.count >= width ? text : text.padding(toLength: width, withPad: " ", startingAt: 0)
    }

    /// `text` cut to `width` characters, with `…` when cut.
    static func fit(_ text: String, _ width: Int) -> String {
        text.count <= width ? text.padding(toLength: width, withPad: " ", startingAt: 0) : String(text.prefix(width - 1)) + "…"
    }
}
