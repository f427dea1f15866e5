/// Why the local cluster could not be brought up or down. Descriptions say what to do.
package enum LocalClusterError: Error, CustomStringConvertible {
    case postgresNotInstalled(searched: [String])
    case redisNotInstalled
    case noUnprivilegedUser
    case noFreePort
    case commandFailed(String)
    case startTimedOut(component: String, logFile: String)
    case unknownComponent(String)

    package var description: String {
        switch self {
        case .postgresNotInstalled(let searched):
            "PostgreSQL 15 server binaries were not found (looked in \(searched.joined(separator: ", "))). "
                + "Install them with `apt-get install postgresql-15` (`make run` and `make test` do this)."
        case .redisNotInstalled:
            "redis-server was not found. Install it with `apt-get install redis-server` (`make run` and `make test` do this)."
        case .noUnprivilegedUser:
            "Running as root, but there is no 'postgres' OS user to run PostgreSQL as (it refuses root). "
                + "Install postgresql-15, which creates it, or run as an ordinary user."
        case .noFreePort:
            "No free TCP port on 127.0.0.1 could be found."
        case .commandFailed(let detail):
            detail
        case .startTimedOut(let component, let logFile):
            "\(component) did not become ready in time; see \(logFile)."
        case .unknownComponent(let name):
            "The local cluster has no component named '\(name)'; `tessera cluster status` lists them."
        }
    }
}
