/// What runs where in a local cluster: what `cluster status` prints and `--json` emits.
package struct ClusterStatus: Codable, Sendable, Equatable {
    package var directory: String
    package var components: [Component]

    package struct Component: Codable, Sendable, Equatable {
        /// `primary`, `replica-1`, `redis`, ...
        package var name: String
        /// `postgresql`, `redis`, `pgbouncer`.
        package var kind: String
        package var role: String
        package var host: String
        package var port: Int
        /// How to connect, credentials included (the cluster is local to this machine):
        /// as the superuser, which migrations and the operator's commands use.
        package var url: String
        /// For PostgreSQL, how the server connects: as `tessera_app`, under row-level security.
        package var appURL: String?
        package var pid: Int32?
        package var running: Bool
        package var dataDirectory: String
        package var logFile: String
        /// A node of the HA cluster: Patroni's role (`leader`, `sync_standby`, `replica`), its
        /// timeline and REST API; nil elsewhere.
        package var patroniRole: String? = nil
        package var timeline: Int? = nil
        package var patroniURL: String? = nil
    }

    package var primary: Component? { self.components.first { $0.role == "primary" } }

    /// Text for people: one line a component.
    package var text: String {
        var lines = ["Tessera local cluster in \(self.directory)"]
        if self.components.isEmpty {
            lines.append("  (nothing set up: run `tessera cluster up`)")
        }
        for component in self.components {
            var state = component.running ? "running (pid \(component.pid.map(String.init) ?? "?"))" : "stopped"
            if let role = component.patroniRole { state += ", \(role), timeline \(component.timeline.map(String.init) ?? "?")" }
            lines.append(
                "  \(component.name.padding(12)) \(component.kind.padding(10)) \(state.padding(component.patroniRole == nil ? 22 : 44)) \(component.url)"
            )
            lines.append("  \("".padding(12)) data \(component.dataDirectory), log \(component.logFile)")
        }
        return lines.joined(separator: "\n")
    }
}

extension String {
    fileprivate func padding(_ width: Int) -> String {
        self.count >= width ? self : self + String(repeating: " ", count: width - self.count)
    }
}
