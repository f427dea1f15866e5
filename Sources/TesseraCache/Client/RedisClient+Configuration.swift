import NIOSSL
import TesseraCore

extension RedisClient {
    package struct Configuration: Sendable {
        package var url: RedisURL
        /// Connections kept open once made (each pipelines any number of commands).
        package var connections: Int
        /// How long a command may take, waiting for a connection included. A cache
        /// read that takes longer is better treated as a miss.
        package var commandTimeout: Duration
        /// How long making one connection may take: TCP, TLS, AUTH and SELECT.
        package var connectTimeout: Duration
        package var backoff: Backoff
        /// For `rediss://`: whom to trust (default: the system's roots, host name checked).
        package var tls: TLSConfiguration

        package init(
            url: RedisURL,
            connections: Int = 4,
            commandTimeout: Duration = .milliseconds(100),
            connectTimeout: Duration = .seconds(1),
            backoff: Backoff = Backoff(),
            tls: TLSConfiguration = .makeClientConfiguration()
        ) {
            self.url = url
            self.connections = connections
            self.commandTimeout = commandTimeout
            self.connectTimeout = connectTimeout
            self.backoff = backoff
            self.tls = tls
        }

        /// For `rediss://`: trusts the CA(s) in a PEM file (ElastiCache's, or one of your
        /// own) instead of the system's; the host name is still checked.
        package mutating func trust(caFile: String) {
            self.tls.trustRoots = .file(caFile)
        }

        /// Waits between failed connects: `initial`, doubling, at most `maximum`;
        /// each shortened by up to a quarter at random, so many servers that lost
        /// Redis together do not reconnect in step.
        package struct Backoff: Sendable, Equatable {
            package var initial: Duration
            package var maximum: Duration

            package init(initial: Duration = .milliseconds(50), maximum: Duration = .seconds(5)) {
                self.initial = initial
                self.maximum = maximum
            }

            /// The wait after `failures` consecutive failed connects (1 or more), before jitter.
            package func delay(afterFailures failures: Int) -> Duration {
                let doublings = min(max(failures - 1, 0), 30)
                let delay = self.initial * (1 << doublings)
                return min(delay, self.maximum)
            }

            func jittered(_ delay: Duration) -> Duration {
                let nanoseconds = delay.components.seconds * 1_000_000_000 + delay.components.attoseconds / 1_000_000_000
                return .nanoseconds(nanoseconds - Int64.random(in: 0...max(nanoseconds / 4, 0)))
            }
        }

        var connection: RedisConnection.Configuration {
            RedisConnection.Configuration(url: self.url, commandTimeout: self.commandTimeout, connectTimeout: self.connectTimeout, tls: self.tls)
        }
    }
}
