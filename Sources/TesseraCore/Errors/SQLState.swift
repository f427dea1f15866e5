/// Every SQLSTATE Tessera gives a meaning to, in one table: the write path (a refused
/// staging write goes to quarantine, a failed one is retried), the read router (a node that is
/// down counts against its breaker) and the client's error all read it from here.
///
/// | SQLSTATE                               | meaning              | what follows                                        |
/// |----------------------------------------|----------------------|-----------------------------------------------------|
/// | class 22                               | `dataException`      | refused data: quarantine; a client's 400            |
/// | class 23 but 23505                     | `constraintViolation`| refused data: quarantine                            |
/// | 23505                                  | `uniqueViolation`    | 409 `duplicate`                                     |
/// | class 54                               | `programLimit`       | refused data (a value too large): quarantine        |
/// | 57014                                  | `queryCanceled`      | 504 `timeout` (`statement_timeout`)                 |
/// | 40001                                  | `recoveryConflict`   | a standby cancelled a read: retry on another node   |
/// | class 08, 53000, 53200, 53300, 57P01–3 | `unavailable`        | the node is down or full: breaker, 503              |
/// | anything else                          | `other`              | 503: the database failed, not the request           |
package enum SQLState: Sendable, Equatable {
    case dataException
    case constraintViolation
    case uniqueViolation
    case programLimit
    case queryCanceled
    case recoveryConflict
    case unavailable
    case other

    package init(_ code: String) {
        switch code {
        case "23505": self = .uniqueViolation
        case "57014": self = .queryCanceled
        case "40001": self = .recoveryConflict
        case "53000", "53200", "53300", "57P01", "57P02", "57P03": self = .unavailable
        default:
            switch code.prefix(2) {
            case "22": self = .dataException
            case "23": self = .constraintViolation
            case "54": self = .programLimit
            case "08": self = .unavailable
            default: self = .other
            }
        }
    }

    /// The rows themselves were refused: the same rows fail the same way again.
    package var refusesData: Bool {
        switch self {
        case .dataException, .constraintViolation, .programLimit: true
        default: false
        }
    }

    /// The node is down, restarting or out of connections: not the request's fault.
    package var nodeIsDown: Bool { self == .unavailable }
}
