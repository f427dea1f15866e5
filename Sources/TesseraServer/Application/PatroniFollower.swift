import Logging
import ServiceLifecycle
import TesseraCore
import TesseraRouting

/// How a server follows a Patroni cluster: a watcher of `GET /cluster`, a proxy to the
/// leader that every write connection and the primary's pool go through, and the members as
/// read replicas, admitted by the watcher (a running or streaming replica on the leader's
/// timeline). Built before the dependencies, whose URLs it gives.
package struct PatroniFollower: Sendable {
    package let watcher: PatroniWatcher
    package let proxy: PrimaryProxy
    /// `serverURL` with the proxy's address: the primary, whichever node it is.
    package let primaryURL: DatabaseURL
    /// Each member, by name, at its own address, with `serverURL`'s role and database.
    package let replicas: [(name: String, url: DatabaseURL)]

    /// Reads the cluster (waiting up to `within` for a REST API and a leader), and listens.
    package static func start(
        endpoints: [String],
        serverURL: DatabaseURL,
        proxy configuration: PrimaryProxy.Configuration = .init(),
        within: Duration = .seconds(60),
        logger: Logger
    ) async throws -> PatroniFollower {
        // The proxy passes TLS through to the leader, whose certificate names it, not 127.0.0.1.
        guard serverURL.tls != .verifyFull else {
            throw TesseraError(
                .invalidParameter,
                "sslmode=verify-full cannot check the leader's host name through the primary proxy: use verify-ca (the CA is still checked), or a proxy of your own in front of Patroni (README: High availability)."
            )
        }
        let watcher = PatroniWatcher(configuration: .init(endpoints: endpoints), logger: logger)
        let deadline = ContinuousClock.now + within
        var view = try await watcher.firstView(within: within)
        while view.leader == nil, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(250))
            view = await watcher.poll() ?? view
        }
        guard view.leader != nil else {
            throw TesseraError(.unavailable, "The Patroni cluster has no running leader (\(endpoints.joined(separator: ", "))).")
        }
        let proxy = PrimaryProxy(configuration: configuration, watcher: watcher, logger: logger)
        let port = try await proxy.start()
        var primaryURL = serverURL
        primaryURL.host = configuration.host
        primaryURL.port = port
        let replicas = view.members.map { member in
            var url = serverURL
            url.host = member.host
            url.port = member.port
            return (member.name, url)
        }
        logger.info(
            "Following the Patroni cluster",
            metadata: [
                "leader": "\(view.leader.map { "\($0.name) \($0.address)" } ?? "none")", "proxy": "\(configuration.host):\(port)",
                "members": "\(view.members.map(\.name))",
            ]
        )
        return PatroniFollower(watcher: watcher, proxy: proxy, primaryURL: primaryURL, replicas: replicas)
    }

    /// The watcher and the proxy, for `ServerDependencies.clusterServices`.
    package var services: [any Service] { [self.watcher, self.proxy] }

    /// `topology` with the members as replicas, admitted by Patroni's view, and strong reads
    /// that wait out a change of primary.
    package func topology(_ topology: ServerDependencies.ReadTopology, primaryPatience: Duration = .seconds(20)) -> ServerDependencies.ReadTopology {
        var topology = topology
        topology.replicas = self.replicas.map(\.url)
        topology.replicaNames = self.replicas.map(\.name)
        let watcher = self.watcher
        topology.admission = { watcher.admits($0) }
        topology.router.primaryPatience = primaryPatience
        return topology
    }
}
