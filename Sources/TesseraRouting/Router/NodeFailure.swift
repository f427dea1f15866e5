import PostgresNIO
import TesseraCore
import _ConnectionPoolModule

/// Tells a failed node from a failed query: a node failure counts against the
/// node's breaker and the read is retried elsewhere; a query failure (bad SQL, a
/// statement timeout) is the answer.
package enum NodeFailure {
    package enum Kind: Sendable, Equatable {
        /// The node is down or unreachable: count it, retry elsewhere.
        case nodeDown
        /// The node is fine but could not run this read now (a hot standby cancelled
        /// it for a recovery conflict): retry elsewhere, do not count it.
        case retryElsewhere
        /// The query itself failed: no retry.
        case query
    }

    /// Waiting for a connection to a node took too long: it is probably down
    /// (the pool keeps retrying to connect while requests wait).
    package struct LeaseTimeout: Error, Sendable {
        package var node: String
    }

    package static func classify(_ error: any Error) -> Kind {
        // A read abandoned because its connection closed (`ReadRouter.whileOpen`) lost its node.
        if error is LeaseTimeout || error is ConnectionPoolError || error is Deadline.Abandoned { return .nodeDown }
        guard let error = error as? PSQLError else { return .query }
        switch error.code {
        case .connectionError, .serverClosedConnection, .uncleanShutdown, .clientClosedConnection, .poolClosed,
            .sslUnsupported, .failedToAddSSLHandler, .messageDecodingFailure, .unexpectedBackendMessage:
            return .nodeDown
        case .server:
            switch SQLState(error.serverInfo?[.sqlState] ?? "") {
            case .unavailable: return .nodeDown
            case .recoveryConflict: return .retryElsewhere
            default: return .query
            }
        default:
            return .query
        }
    }
}
