import ArgumentParser
import Foundation
import TrainingControl
import TrainingCore
import TrainingImages

/// `jobctl images`: Trainingd.ListImages, what a TrainingImage can name on this daemon.
struct Images: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "images",
        _superCommandName: Jobctl.name,
        abstract: "List the images jobs can name: the image table's entries and the images of root's containers-storage.",
        discussion: """
            A definition's TrainingImage names an image-table key, or an image of the container storage by \
            one of its names (a name without a registry also matches with localhost/ or docker.io/ before it, \
            without a tag also with :latest). Bring images with `podman load -i ARCHIVE` or \
            `skopeo copy oci:DIR:TAG containers-storage:NAME` as root (docs/images.md).
            """)

    @Flag(name: .long, help: "Print the daemon's answer as JSON.")
    var json = false

    @OptionGroup var connection: ConnectionOptions

    func run() throws {
        let answer = try connection.call(.listImages)
        if json { return print(answer.serialized(.pretty)) }
        let images = answer["Images"]?.arrayValue ?? []
        var rows = [["TRAINING IMAGE", "FROM", "ENTRYPOINT", "USER"]]
        for image in images {
            let entrypoint = (image["Entrypoint"]?.arrayValue ?? []).compactMap(\.stringValue).joined(separator: " ")
            if image["Source"]?.stringValue == "ImageTable" {
                let from = image["Image"]?.stringValue.map { "image " + $0 } ?? image["RootFilesystem"]?.stringValue.map { "root " + $0 } ?? "host"
                rows.append([image["TrainingImage"]?.stringValue ?? "?", from, entrypoint.isEmpty ? "(the image's)" : entrypoint, ""])
            } else {
                let id = String((image["ImageId"]?.stringValue ?? "").prefix(12))
                let names = (image["Names"]?.arrayValue ?? []).compactMap(\.stringValue).filter { !$0.contains("@sha256:") }
                for name in names.isEmpty ? [id] : names {
                    rows.append([name, "storage " + id, entrypoint.isEmpty ? "(none: train on PATH)" : entrypoint, image["User"]?.stringValue.flatMap { $0.isEmpty ? nil : $0 } ?? "root"])
                }
            }
        }
        let widths = (0..<4).map { column in rows.map { $0[column].count }.max() ?? 0 }
        for row in rows {
            print(zip(row, widths).map { $0.padding(toLength: $1, withPad: " ", startingAt: 0) }.joined(separator: "  ").trimmingCharacters(in: .whitespaces))
        }
        if let error = answer["StorageError"]?.stringValue {
            FileHandle.standardError.write(Data("jobctl: the container storage could not be listed: \(error)\n".utf8))
        }
    }
}
