import Foundation

/// The AWS shared files' INI format (`~/.aws/credentials`, `~/.aws/config`, and trainingd's own
/// credentials file): `[section]`, `key = value`, `#` and `;` comments; the indented lines of a
/// nested block (`s3 =` followed by `  addressing_style = path`) are skipped.
public enum AWSSharedFile {
    /// The sections in the order of the file; a section named twice is merged into its first place.
    public static func sections(_ text: String) -> [(name: String, values: [String: String])] {
        var sections: [(name: String, values: [String: String])] = []
        var current: Int?
        for rawLine in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline) {
            let line = rawLine.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") || line.hasPrefix(";") { continue }
            if line.hasPrefix("["), line.hasSuffix("]") {
                let name = line.dropFirst().dropLast().trimmingCharacters(in: .whitespaces)
                if let index = sections.firstIndex(where: { $0.name == name }) {
                    current = index
                } else {
                    sections.append((name: name, values: [:]))
                    current = sections.count - 1
                }
                continue
            }
            guard let section = current, rawLine.first.map({ !$0.isWhitespace }) ?? false, let equals = line.firstIndex(of: "=") else { continue }
            let key = line[..<equals].trimmingCharacters(in: .whitespaces)
            let value = line[line.index(after: equals)...].trimmingCharacters(in: .whitespaces)
            sections[section].values[key] = value
        }
        return sections
    }

    /// The sections by name.
    public static func parse(_ text: String) -> [String: [String: String]] {
        Dictionary(sections(text).map { ($0.name, $0.values) }, uniquingKeysWith: { first, _ in first })
    }
}
