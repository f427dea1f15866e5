/// What Patroni's `GET /cluster` says of the cluster: each member's role, state, address,
/// timeline and lag. Decoded from any node's answer; every node reads the same DCS.
package struct PatroniView: Decodable, Sendable, Equatable {
    package struct Member: Decodable, Sendable, Equatable {
        package var name: String
        /// `leader`, `sync_standby`, `replica` (`standby_leader` in a standby cluster).
        package var role: String
        /// `running`, `streaming`, `starting`, `stopped`, `crashed`, `creating replica`, …
        package var state: String
        package var host: String
        package var port: Int
        package var timeline: Int?
        /// Bytes behind the leader; nil when Patroni says "unknown" or gives none.
        package var lagBytes: Int64?

        enum CodingKeys: String, CodingKey {
            case name, role, state, host, port, timeline, lag
        }

        package init(name: String, role: String, state: String, host: String, port: Int, timeline: Int? = nil, lagBytes: Int64? = nil) {
            self.name = name
            self.role = role
            self.state = state
            self.host = host
            self.port = port
            self.timeline = timeline
            self.lagBytes = lagBytes
        }

        package init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            self.name = try container.decode(String.self, forKey: .name)
            self.role = try container.decode(String.self, forKey: .role)
            self.state = try container.decode(String.self, forKey: .state)
            self.host = try container.decode(String.self, forKey: .host)
            self.port = try container.decode(Int.self, forKey: .port)
            self.timeline = try container.decodeIfPresent(Int.self, forKey: .timeline)
            self.lagBytes = try? container.decodeIfPresent(Int64.self, forKey: .lag)
        }

        /// Where the member's PostgreSQL listens.
        package var address: Address { Address(host: self.host, port: self.port) }
    }

    /// A PostgreSQL address.
    package struct Address: Sendable, Hashable, CustomStringConvertible {
        package var host: String
        package var port: Int
        package init(host: String, port: Int) {
            self.host = host
            self.port = port
        }
        package var description: String { "\(self.host):\(self.port)" }
    }

    package var members: [Member]

    package init(members: [Member]) {
        self.members = members
    }

    enum CodingKeys: String, CodingKey { case members }

    /// The member that holds the leader key and runs as primary; nil during an election,
    /// or while the leader's PostgreSQL is not running.
    package var leader: Member? {
        self.members.first { $0.role == "leader" && $0.state == "running" }
    }

    /// Whether `name` may take `eventual` reads now: a replica of the leader that is running
    /// or streaming on the leader's timeline. A member being rewound, rebuilt, started or
    /// stopped is not, nor is one still on an older timeline, nor any member while there is
    /// no leader to compare with.
    package func isReadableReplica(_ name: String) -> Bool {
        guard let leader = self.leader, let member = self.members.first(where: { $0.name == name }) else { return false }
        guard member.role == "replica" || member.role == "sync_standby" else { return false }
        guard member.state == "running" || member.state == "streaming" else { return false }
        guard let timeline = member.timeline, let leading = leader.timeline else { return false }
        return timeline == leading
    }
}
