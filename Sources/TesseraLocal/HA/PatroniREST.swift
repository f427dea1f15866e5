import Foundation

/// Patroni's REST API, read with curl (TesseraLocal links no HTTP client): the members and
/// their roles from any node's `/cluster`, and the planned moves posted to the leader.
enum PatroniREST {
    struct Member: Decodable, Sendable {
        var name: String
        /// `leader`, `sync_standby`, `replica`.
        var role: String
        /// `running`, `stopped`, `crashed`, `starting`, …
        var state: String
        var port: Int?
        var timeline: Int?
        var lag: Lag?

        /// Bytes behind, or Patroni's "unknown".
        enum Lag: Decodable, Sendable {
            case bytes(Int64)
            case unknown
            init(from decoder: any Decoder) throws {
                let container = try decoder.singleValueContainer()
                self = (try? container.decode(Int64.self)).map(Lag.bytes) ?? .unknown
            }
        }
    }

    struct Cluster: Decodable, Sendable {
        var members: [Member]
        var leader: Member? { self.members.first { $0.role == "leader" } }
    }

    /// `/cluster` from the first of `ports` that answers; nil when none does.
    static func cluster(ports: [Int]) -> Cluster? {
        for port in ports {
            guard let result = try? Command(executable: "/usr/bin/curl", arguments: ["-s", "-m", "2", "http://127.0.0.1:\(port)/cluster"]).run(),
                result.status == 0, let cluster = try? JSONDecoder().decode(Cluster.self, from: Data(result.output.utf8))
            else { continue }
            return cluster
        }
        return nil
    }

    /// The replication of the node on `port` as its own `GET /` reports it (on the leader: one
    /// entry a replica, with `state` and `sync_state`).
    static func replication(port: Int) -> [(name: String, state: String, sync: String)] {
        struct Status: Decodable {
            struct Replica: Decodable {
                var application_name: String
                var state: String
                var sync_state: String
            }
            var replication: [Replica]?
        }
        guard let result = try? Command(executable: "/usr/bin/curl", arguments: ["-s", "-m", "2", "http://127.0.0.1:\(port)/"]).run(),
            let status = try? JSONDecoder().decode(Status.self, from: Data(result.output.utf8))
        else { return [] }
        return (status.replication ?? []).map { ($0.application_name, $0.state, $0.sync_state) }
    }

    /// POSTs `body` to `path` on the node on `port`; returns the HTTP status and Patroni's answer.
    static func post(port: Int, path: String, body: [String: String]) throws -> (status: Int, text: String) {
        let json = String(decoding: try JSONEncoder().encode(body), as: UTF8.self)
        let output = try Command(
            executable: "/usr/bin/curl",
            arguments: [
                "-s", "-m", "60", "-w", "\n%{http_code}", "-X", "POST", "-H", "Content-Type: application/json", "-d", json, "http://127.0.0.1:\(port)\(path)",
            ]
        ).check()
        let lines = output.split(separator: "\n", omittingEmptySubsequences: false)
        return (Int(lines.last ?? "") ?? 0, lines.dropLast().joined(separator: "\n"))
    }
}
