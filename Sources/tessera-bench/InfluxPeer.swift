import AsyncHTTPClient
import Foundation
import NIOCore
import TesseraLocal

#if canImport(Glibc)
import Glibc
#endif

/// The benchmark's client of an InfluxDB 1.x started by `InfluxServer` on 127.0.0.1:
/// line protocol in over `POST /write`, InfluxQL over `POST /query` (1.x refuses
/// `CREATE` over GET; POST serves every statement), and a memory watchdog.
///
/// Every request has a deadline. When it passes, the request is cancelled, which closes
/// the connection, and influxd interrupts a query whose client has gone (checked with
/// `SHOW QUERIES` on 1.6.7); the caller gets `Failure.timedOut` and reports "did not
/// finish". A deadline does not bound memory: run `watch` beside every query.
struct InfluxPeer: Sendable {
    enum Failure: Error, CustomStringConvertible {
        /// No complete answer within the deadline; the request was abandoned.
        case timedOut(after: Duration)
        /// An answer other than the one the endpoint gives on success.
        case status(code: Int, body: String, request: String)
        /// A statement InfluxDB refused (syntax, unknown database...), in its words.
        case statement(String)
        case malformedAnswer(String)

        var description: String {
            switch self {
            case .timedOut(let after):
                "InfluxDB did not finish within \(after)."
            case .status(let code, let body, let request):
                "InfluxDB answered \(request) with HTTP \(code): \(body.trimmingCharacters(in: .whitespacesAndNewlines).prefix(500))"
            case .statement(let message):
                "InfluxDB refused the statement: \(message)"
            case .malformedAnswer(let detail):
                "InfluxDB's answer could not be read: \(detail)"
            }
        }
    }

    /// One series of a query's answer. Times are milliseconds since 1970 (`epoch=ms`).
    struct Series: Sendable, Decodable, Equatable {
        var name: String?
        var tags: [String: String]?
        var columns: [String]
        var values: [[Value]]

        /// The column's values, one per row; `.null` where it is null or absent.
        func column(_ name: String) -> [Value] {
            guard let index = self.columns.firstIndex(of: name) else { return [] }
            return self.values.map { $0.indices.contains(index) ? $0[index] : .null }
        }
    }

    /// A JSON cell: InfluxDB prints whole floats without a fraction, so every number is a Double.
    enum Value: Sendable, Decodable, Equatable {
        case number(Double)
        case text(String)
        case bool(Bool)
        case null

        init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            if container.decodeNil() {
                self = .null
            } else if let number = try? container.decode(Double.self) {
                self = .number(number)
            } else if let flag = try? container.decode(Bool.self) {
                self = .bool(flag)
            } else {
                self = .text(try container.decode(String.self))
            }
        }

        var number: Double? {
            if case .number(let value) = self { return value }
            return nil
        }
    }

    /// Answers larger than this are refused rather than buffered (a query can return a lot).
    static let maximumAnswerBytes = 64 << 20

    let http: HTTPClient
    let base: String

    init(http: HTTPClient, port: Int) {
        self.http = http
        self.base = "http://127.0.0.1:\(port)"
    }

    /// `CREATE DATABASE`; harmless when it exists.
    func createDatabase(_ name: String) async throws {
        _ = try await self.run(form: [("q", "CREATE DATABASE \(Self.identifier(name))")], timeout: .seconds(30))
    }

    /// One batch of line protocol. `precision` is the timestamps' unit: n, u, ms, s...
    func write(database: String, lines: ByteBuffer, precision: String = "u", timeout: Duration = .seconds(60)) async throws {
        var request = HTTPClientRequest(url: self.base + "/write?" + Self.form([("db", database), ("precision", precision)]))
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "text/plain; charset=utf-8")
        request.body = .bytes(lines)
        let answer = try await self.exchange(request, timeout: timeout)
        guard answer.status == 204 else {
            throw Failure.status(code: answer.status, body: String(buffer: answer.body), request: "POST /write")
        }
    }

    /// Runs InfluxQL against `database` and returns the series of every statement's result.
    /// Throws `Failure.timedOut` when it does not finish within `timeout`.
    func query(database: String, _ influxql: String, timeout: Duration) async throws -> [Series] {
        try await self.run(form: [("db", database), ("epoch", "ms"), ("q", influxql)], timeout: timeout)
    }

    private struct Answer: Decodable {
        struct Result: Decodable {
            var series: [Series]?
            var error: String?
        }
        var results: [Result]?
        var error: String?
    }

    private func run(form: [(String, String)], timeout: Duration) async throws -> [Series] {
        var request = HTTPClientRequest(url: self.base + "/query")
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
        request.body = .bytes(ByteBuffer(string: Self.form(form)))
        let answer = try await self.exchange(request, timeout: timeout)
        let decoded = try? JSONDecoder().decode(Answer.self, from: Data(answer.body.readableBytesView))
        // A statement it cannot parse is a 400 with {"error": ...}; one that fails as it runs, a 200 with the error inside.
        if answer.status == 400, let message = decoded?.error {
            throw Failure.statement(message)
        }
        guard answer.status == 200 else {
            throw Failure.status(code: answer.status, body: String(buffer: answer.body), request: "POST /query")
        }
        guard let decoded else {
            throw Failure.malformedAnswer("not the JSON of /query: \(String(buffer: answer.body).prefix(200))")
        }
        if let message = decoded.error ?? decoded.results?.lazy.compactMap(\.error).first {
            throw Failure.statement(message)
        }
        return (decoded.results ?? []).flatMap { $0.series ?? [] }
    }

    /// Sends the request and collects the answer, racing a timer: whichever ends first
    /// cancels the other, so a late answer is abandoned (and its connection closed).
    private func exchange(_ request: HTTPClientRequest, timeout: Duration) async throws -> (status: Int, body: ByteBuffer) {
        let http = self.http
        return try await withThrowingTaskGroup(of: (status: Int, body: ByteBuffer)?.self) { group in
            defer { group.cancelAll() }
            group.addTask {
                let response = try await http.execute(request, deadline: .distantFuture)
                let body = try await response.body.collect(upTo: Self.maximumAnswerBytes)
                return (Int(response.status.code), body)
            }
            group.addTask {
                try await Task.sleep(for: timeout)
                return nil
            }
            guard let first = try await group.next(), let answer = first else {
                throw Failure.timedOut(after: timeout)
            }
            return answer
        }
    }

    /// An InfluxQL identifier, double-quoted.
    static func identifier(_ name: String) -> String {
        "\"" + name.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
    }

    private static let unreserved = CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")

    /// `application/x-www-form-urlencoded`, also used for the query string.
    static func form(_ fields: [(String, String)]) -> String {
        fields.map { key, value in
            let encoded = value.addingPercentEncoding(withAllowedCharacters: Self.unreserved) ?? ""
            return key + "=" + encoded
        }.joined(separator: "&")
    }

    /// Polls the process's resident memory every `every` and sends it SIGKILL once it passes
    /// `limitBytes`: one InfluxQL query can take 20 GB on a 24 GiB machine (FIELD-NOTES).
    /// Returns true if it killed it; false when cancelled or when the process ended by itself.
    /// It runs on the shared executor, so keep blocking work off it while it watches.
    static func watch(pid: Int32, limitBytes: Int, every: Duration) -> Task<Bool, Never> {
        Task {
            while !Task.isCancelled {
                guard let resident = InfluxServer.residentBytes(pid: pid) else { return false }
                if resident > limitBytes {
                    kill(pid, SIGKILL)
                    return true
                }
                do { try await Task.sleep(for: every) } catch { return false }
            }
            return false
        }
    }
}
