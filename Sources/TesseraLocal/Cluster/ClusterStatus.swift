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
    }

    package var primary: Component? { self.components.first { $0.role == "primary" } }

    /// Text for people: one line a component.
    package var text: String {
        var lines = ["Tessera local cluster in \(self.directory)"]
        if self.components.isEmpty {
            lines.append("  (nothing set up: run `tessera cluster up`)")
        }
        for component in self.components {
            let state = component.running ? "running (pid \(component.pid.map(String.init) ?? "?"))" : "stopped"
            lines.append("  \(component.name.padding(12)) \(component.kind.padding(10)) \(state.padding(22)) \(component.url)")
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
