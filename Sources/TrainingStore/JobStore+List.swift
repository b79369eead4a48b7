import Foundation
import TrainingCore

extension JobStore {
    /// ListTrainingJobs: one page of job summaries.
    ///
    /// Pages are cut by keyset, not by offset: the token holds the sort key and
    /// submission number of the page's last job, and the next page starts strictly
    /// after it. Jobs created between two calls therefore never shift a page, and
    /// no job is returned twice or skipped (unless its sort key itself changes,
    /// as a status does under `SortBy Status`).
    /// - Throws: `invalidArgument` for MaxResults outside 1...100 or a token that
    ///   does not belong to this query.
    public func listJobs(_ query: JobListQuery) throws(StoreError) -> JobListPage {
        let action = "list training jobs"
        guard (1...JobListQuery.maxResultsLimit).contains(query.maxResults) else {
            throw StoreError(
                .invalidArgument, action: action,
                message: "MaxResults is \(query.maxResults); it must be between 1 and \(JobListQuery.maxResultsLimit)",
                path: path)
        }
        let column = Self.sortColumn(query.sortBy)
        var conditions: [String] = []
        var values: [SQLValue] = []
        if let fragment = query.nameContains, !fragment.isEmpty {
            // LIKE ignores ASCII case; its wildcards in the fragment are escaped.
            let escaped = fragment.replacingOccurrences(of: "\\", with: "\\\\")
                .replacingOccurrences(of: "%", with: "\\%").replacingOccurrences(of: "_", with: "\\_")
            conditions.append("name LIKE ? ESCAPE '\\'")
            values.append(.text("%\(escaped)%"))
        }
        if let status = query.statusEquals {
            conditions.append("status = ?")
            values.append(.text(status.rawValue))
        }
        for (bound, condition) in [
            (query.creationTimeAfter, "creation_time > ?"), (query.creationTimeBefore, "creation_time < ?"),
            (query.lastModifiedTimeAfter, "last_modified_time > ?"),
            (query.lastModifiedTimeBefore, "last_modified_time < ?"),
        ] {
            guard let bound else { continue }
            conditions.append(condition)
            values.append(.real(bound))
        }
        let fingerprint = Self.fingerprint(query)
        if let token = query.nextToken {
            guard let cursor = PageCursor(token: token), cursor.query == fingerprint,
                let key = cursor.key(for: query.sortBy)
            else {
                throw StoreError(
                    .invalidArgument, action: action,
                    message: "the NextToken is not one this store gave for the same filters and sort order", path: path)
            }
            conditions.append("(\(column), seq) \(query.sortOrder == .ascending ? ">" : "<") (?, ?)")
            values += [key, .integer(cursor.seq)]
        }
        let direction = query.sortOrder == .ascending ? "ASC" : "DESC"
        let filter = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
        let rows = try read(action) { db throws(StoreError) in
            try db.query(
                """
                SELECT seq, name, arn, creation_time, training_end_time, last_modified_time, status, secondary_status
                FROM jobs \(filter) ORDER BY \(column) \(direction), seq \(direction) LIMIT ?
                """, values + [.integer(Int64(query.maxResults + 1))], action: action
            ) { row throws(StoreError) in
                JobSummary(
                    id: JobID(rawValue: row.int64(0)), name: row.text(1), arn: row.text(2),
                    creationTime: row.double(3), trainingEndTime: row.optionalDouble(4),
                    lastModifiedTime: row.double(5),
                    status: try decodeEnum(TrainingJobStatus.self, row.text(6), "status", action: action),
                    secondaryStatus: try decodeEnum(
                        SecondaryStatus.self, row.text(7), "secondary status", action: action))
            }
        }
        // One row more than asked says whether another page exists.
        guard rows.count > query.maxResults else { return JobListPage(summaries: rows, nextToken: nil) }
        let page = Array(rows.prefix(query.maxResults))
        let last = page[page.count - 1]
        let cursor = PageCursor(query: fingerprint, seq: last.id.rawValue, summary: last, sortBy: query.sortBy)
        return JobListPage(summaries: page, nextToken: cursor.token)
    }

    private static func sortColumn(_ key: JobSortKey) -> String {
        switch key {
        case .name: return "name"
        case .creationTime: return "creation_time"
        case .status: return "status"
        }
    }

    /// The filters and order a token was made for; times by bit pattern, so exact.
    private static func fingerprint(_ query: JobListQuery) -> String {
        let bounds = [
            query.creationTimeAfter, query.creationTimeBefore,
            query.lastModifiedTimeAfter, query.lastModifiedTimeBefore,
        ]
        let times = bounds.map { $0.map { String($0.bitPattern, radix: 16) } ?? "-" }
        let filters = [query.nameContains ?? "-", query.statusEquals?.rawValue ?? "-"]
        let order = [query.sortBy.rawValue, query.sortOrder.rawValue]
        return (filters + order + times).joined(separator: "|")
    }
}

/// What a NextToken holds: the position after the last job of a page. Opaque to
/// clients (base64url of JSON), versioned so the format can change.
struct PageCursor: Codable {
    var version = 1
    /// ``JobStore/fingerprint(_:)`` of the query it continues.
    var query: String
    var seq: Int64
    /// The sort key of the last job: text for Name and Status, the bits of the Double for CreationTime.
    var text: String?
    var timeBits: UInt64?

    init(query: String, seq: Int64, summary: JobSummary, sortBy: JobSortKey) {
        self.query = query
        self.seq = seq
        switch sortBy {
        case .name: text = summary.name
        case .status: text = summary.status.rawValue
        case .creationTime: timeBits = summary.creationTime.bitPattern
        }
    }

    init?(token: String) {
        var base64 = token.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        base64 += String(repeating: "=", count: (4 - base64.count % 4) % 4)
        guard let data = Data(base64Encoded: base64),
            let cursor = try? JSONDecoder().decode(PageCursor.self, from: data), cursor.version == 1
        else { return nil }
        self = cursor
    }

    var token: String {
        let data = (try? JSONEncoder().encode(self)) ?? Data()
        return data.base64EncodedString().replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }

    /// The key value to bind, if the token carries the kind of key the sort needs.
    func key(for sortBy: JobSortKey) -> SQLValue? {
        switch sortBy {
        case .name, .status: return text.map(SQLValue.text)
        case .creationTime: return timeBits.map { .real(Double(bitPattern: $0)) }
        }
    }
}
