import Foundation
import Logging

/// The HA cluster (README: High availability): three PostgreSQL nodes managed by Patroni, with a
/// local etcd as its store, synchronous mode on, all on 127.0.0.1; and the planned moves.
extension LocalCluster {
    static let haNodes = ["node-1", "node-2", "node-3"]
    static let haScope = "tessera"

    func upHA(state: inout ClusterStateFile.State, stateFile: ClusterStateFile) throws {
        let installation = try PostgresInstallation.locate(override: self.configuration.binDirectory)
        guard let patroni = PatroniNode.locate(), let etcd = MonitoredProcess.locate("etcd") else {
            throw LocalClusterError.commandFailed(
                "The HA cluster needs Patroni and etcd: `apt-get install patroni etcd-server` (`make run` and `make test` install them)."
            )
        }
        let runAs = try OSUser.forPostgres()
        if state.dataRoot == nil { state.dataRoot = self.chooseDataRoot(runAs: runAs) }
        if state.password == nil { state.password = RandomPassword.make() }
        if state.appPassword == nil { state.appPassword = RandomPassword.make() }
        try stateFile.save(state)
        let root = state.dataRoot! + "/ha"
        for folder in [state.dataRoot!, root, root + "/etcd"] {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            runAs?.own(folder)
        }
        if self.configuration.backups != nil {
            self.logger.notice("The HA cluster keeps no pgBackRest archive yet; backups are the plain cluster's")
        }

        // etcd: one member, Patroni's store.
        var taken = Set(state.components.values.flatMap { [$0.port] + ($0.restPort.map { [$0] } ?? []) })
        func port(_ previous: Int?) throws -> Int {
            if let previous { return previous }
            var candidate = try Ports.free()
            while taken.contains(candidate) { candidate = try Ports.free() }
            taken.insert(candidate)
            return candidate
        }
        let peerPort = try port(state.components["etcd"]?.restPort)
        let etcdDirectory = root + "/etcd"
        let etcdProcess = MonitoredProcess(
            name: "etcd",
            executable: etcd,
            arguments: { client in
                [
                    "--name", "tessera", "--data-dir", etcdDirectory + "/data",
                    "--listen-client-urls", "http://127.0.0.1:\(client)", "--advertise-client-urls", "http://127.0.0.1:\(client)",
                    "--listen-peer-urls", "http://127.0.0.1:\(peerPort)", "--initial-advertise-peer-urls", "http://127.0.0.1:\(peerPort)",
                    "--initial-cluster", "tessera=http://127.0.0.1:\(peerPort)", "--initial-cluster-state", "new",
                    "--initial-cluster-token", "tessera-ha",
                ]
            },
            user: runAs?.name,
            cleanEnvironment: true,
            directory: etcdDirectory,
            logger: self.logger
        )
        let running = MonitoredProcess.runningPID(directory: etcdDirectory) != nil
        let etcdPort = try etcdProcess.start(preferredPort: state.components["etcd"]?.port, currentPort: running ? state.components["etcd"]?.port : nil)
        taken.insert(etcdPort)
        state.components["etcd"] = .init(
            kind: "etcd",
            role: "consensus",
            port: etcdPort,
            dataDirectory: etcdDirectory,
            logFile: etcdProcess.logFile,
            restPort: peerPort
        )
        try stateFile.save(state)

        // The nodes: the first to start initialises, the others clone it.
        let settings = PostgresServer.settingsText(
            self.configuration.profile == .tuned ? PostgresSettings.tuned : PostgresSettings.test,
            installation: installation,
            database: self.configuration.databaseName
        )
        var nodes = [PatroniNode]()
        for name in Self.haNodes {
            let node = PatroniNode(
                name: name,
                directory: root + "/" + name,
                port: try port(state.components[name]?.port),
                restPort: try port(state.components[name]?.restPort),
                scope: Self.haScope,
                etcdPort: etcdPort,
                installation: installation,
                superuser: self.configuration.superuser,
                password: state.password!,
                settings: PatroniSettings(),
                postgresSettings: settings,
                runAs: runAs,
                logger: self.logger
            )
            try node.start(executable: patroni)
            nodes.append(node)
            state.components[name] = .init(
                kind: "patroni",
                role: "node",
                port: node.port,
                dataDirectory: node.dataDirectory,
                logFile: node.logFile,
                restPort: node.restPort
            )
            try stateFile.save(state)
        }
        let leader = try self.waitForHA(nodes: nodes, within: 180)

        // Tessera's database, roles and extensions, on the leader (the replicas replay them).
        var server = PostgresServer(
            name: leader.name,
            dataDirectory: leader.dataDirectory,
            installation: installation,
            runAs: runAs,
            superuser: self.configuration.superuser,
            password: state.password!,
            settings: "",
            logger: self.logger
        )
        server.databaseName = self.configuration.databaseName
        try server.createDatabase(self.configuration.databaseName, port: leader.port)
        if installation.hasLibrary("pg_stat_statements") {
            try server.superuserSQL(
                port: leader.port,
                database: self.configuration.databaseName,
                "CREATE EXTENSION IF NOT EXISTS pg_stat_statements"
            )
        }
        try server.ensureRoles(port: leader.port, appPassword: state.appPassword!)
        try server.installMaintenanceExtensions(port: leader.port, database: self.configuration.databaseName)
        try server.createDatabase(Self.keyDatabaseName, port: leader.port)
        try server.superuserSQL(port: leader.port, "ALTER DATABASE \(Self.keyDatabaseName) OWNER TO tessera_app")
    }

    /// Waits until a leader runs with both replicas streaming and one of them synchronous.
    private func waitForHA(nodes: [PatroniNode], within seconds: Double) throws -> PatroniNode {
        let deadline = Date().addingTimeInterval(seconds)
        var seen = "no answer from Patroni"
        while Date() < deadline {
            if let cluster = PatroniREST.cluster(ports: nodes.map(\.restPort)), let leader = cluster.leader,
                let node = nodes.first(where: { $0.name == leader.name })
            {
                let replication = PatroniREST.replication(port: node.restPort)
                seen = "leader \(leader.name); replicas \(replication.map { "\($0.name) \($0.state) \($0.sync)" })"
                if replication.filter({ $0.state == "streaming" }).count == nodes.count - 1, replication.contains(where: { $0.sync == "sync" }),
                    cluster.members.contains(where: { $0.role == "sync_standby" })
                {
                    self.logger.info("HA cluster ready", metadata: ["leader": "\(leader.name)"])
                    return node
                }
            }
            Thread.sleep(forTimeInterval: 0.25)
        }
        throw LocalClusterError.commandFailed(
            "The HA cluster did not come up within \(Int(seconds)) s (\(seen)); see \(nodes.map(\.logFile).joined(separator: ", "))."
        )
    }

    /// Patroni's view of the members, from any node that answers; nil when none does.
    static func patroniCluster(_ state: ClusterStateFile.State) -> PatroniREST.Cluster? {
        let ports = state.components.values.filter { $0.kind == "patroni" }.compactMap(\.restPort)
        return ports.isEmpty ? nil : PatroniREST.cluster(ports: ports)
    }

    /// A planned move of the primary to `candidate` (default: the synchronous standby, the only
    /// node Patroni accepts in synchronous mode), waited for until the new leader runs.
    package func switchover(to candidate: String?) async throws -> ClusterStatus {
        try await offloaded { try self.move(to: candidate, path: "/switchover") }
    }

    /// Promotes `candidate` now (Patroni's manual failover; default and, in synchronous mode, only
    /// choice: the synchronous standby), whether or not the leader is healthy.
    package func failover(to candidate: String?) async throws -> ClusterStatus {
        try await offloaded { try self.move(to: candidate, path: "/failover") }
    }

    private func move(to candidate: String?, path: String) throws -> ClusterStatus {
        let state = try ClusterStateFile(directory: self.configuration.directory).load()
        guard let cluster = Self.patroniCluster(state), let leader = cluster.leader,
            let leaderPort = state.components[leader.name]?.restPort
        else {
            throw LocalClusterError.commandFailed("No HA cluster with a leader runs in \(self.configuration.directory) (`tessera cluster up --ha`).")
        }
        guard let target = candidate ?? cluster.members.first(where: { $0.role == "sync_standby" })?.name else {
            throw LocalClusterError.commandFailed("No synchronous standby to move to; name a node.")
        }
        var body = ["candidate": target]
        if path == "/switchover" { body["leader"] = leader.name }
        let answer = try PatroniREST.post(port: leaderPort, path: path, body: body)
        guard answer.status == 200 else {
            throw LocalClusterError.commandFailed("Patroni refused (\(answer.status)): \(answer.text)")
        }
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline {
            if let now = Self.patroniCluster(state), now.leader?.name == target, now.leader?.state == "running" {
                return self.status(from: state)
            }
            Thread.sleep(forTimeInterval: 0.25)
        }
        throw LocalClusterError.commandFailed("\(target) did not become the leader within 60 s.")
    }
}

extension LocalCluster {
    /// How a drill takes a node down.
    package enum NodeCrash: Sendable {
        /// SIGKILL to the node's Patroni and its postmaster: the machine is gone. The cluster
        /// fails over once the leader key expires.
        case node
        /// SIGKILL to the postmaster alone: Patroni restarts PostgreSQL where it was (crash
        /// recovery, UNLOGGED tables emptied), with no failover.
        case postmaster
    }

    /// Crashes the node `name` of the HA cluster (for failover drills and tests); answers the
    /// pids it killed.
    @discardableResult
    package func crash(node name: String, _ crash: NodeCrash) throws -> [Int32] {
        let state = try ClusterStateFile(directory: self.configuration.directory).load()
        guard let component = state.components[name], component.kind == "patroni" else {
            throw LocalClusterError.commandFailed("No HA node \(name) in \(self.configuration.directory).")
        }
        let nodeDirectory = (component.dataDirectory as NSString).deletingLastPathComponent
        var killed = [Int32]()
        // Patroni runs under `runuser`: its pid file names runuser, whose child is Patroni.
        if crash == .node, let wrapper = MonitoredProcess.runningPID(directory: nodeDirectory) {
            for pid in ProcessControl.children(of: wrapper) + [wrapper] {
                kill(pid, SIGKILL)
                killed.append(pid)
            }
        }
        if let postmaster = PostgresServer.runningPID(dataDirectory: component.dataDirectory) {
            kill(postmaster, SIGKILL)
            killed.append(postmaster)
        }
        return killed
    }
}
