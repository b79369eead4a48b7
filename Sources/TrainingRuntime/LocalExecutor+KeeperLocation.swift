import Glibc

extension LocalExecutor {
    /// The keeper's executable name.
    public static let keeperName = "trainingd-keeper"

    /// Finds the keeper: `override` if given, else `$TRAININGD_KEEPER`, else next to the running
    /// executable (the directory of `/proc/self/exe`: a build directory), else in
    /// `../libexec/trainingd/` from there (as `make install` lays it out), else in
    /// `searchDirectories`, in order.
    ///
    /// - Throws: `RuntimeError.Code.keeperNotFound`, listing every place that was tried.
    public static func locateKeeper(override: String? = nil, searchDirectories: [String] = []) throws(RuntimeError)
        -> String
    {
        if let override {
            guard access(override, X_OK) == 0 else {
                throw RuntimeError(
                    .keeperNotFound, path: override, errorNumber: errno,
                    message: "the keeper given is not an executable file; build it with "
                        + "`swift build --product trainingd-keeper` or fix the path")
            }
            return override
        }
        if let fromEnvironment = getenv("TRAININGD_KEEPER") {
            return try locateKeeper(override: String(cString: fromEnvironment))
        }
        var candidates: [String] = []
        if let executable = currentExecutablePath() {
            candidates.append(directory(of: executable) + "/" + keeperName)
            candidates.append(directory(of: directory(of: executable)) + "/libexec/trainingd/" + keeperName)
        }
        candidates += searchDirectories.map { $0 + "/" + keeperName }
        if let found = candidates.first(where: { access($0, X_OK) == 0 }) { return found }
        throw RuntimeError(
            .keeperNotFound, path: candidates.first,
            message: "no executable \(keeperName) in \(candidates.joined(separator: ", ")); install it next to the "
                + "daemon or set TRAININGD_KEEPER to its path")
    }

    private static func currentExecutablePath() -> String? {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let length = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        guard length > 0 else { return nil }
        return String(decoding: buffer[..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    private static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }
}
