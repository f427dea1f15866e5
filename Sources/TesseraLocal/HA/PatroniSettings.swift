/// How the HA cluster's Patroni decides (README: High availability). A node that stops
/// renewing its leader key for `ttl` seconds loses it, and the synchronous standby is promoted:
/// `ttl` bounds the failover time. `loopWait + 2 × retryTimeout ≤ ttl`.
package struct PatroniSettings: Sendable {
    package var ttl: Int
    package var loopWait: Int
    package var retryTimeout: Int

    /// 7 / 1 / 3: the server saw no acknowledged write for 7.4 to 8.6 s after a node crash on this
    /// 2-core machine (Patroni 3.0, etcd 3.4; 10.4 s with 10 / 2 / 3, 29 s with Patroni's
    /// defaults, 30 / 10 / 10). BENCHMARKS.md: Failover.
    package init(ttl: Int = 7, loopWait: Int = 1, retryTimeout: Int = 3) {
        self.ttl = ttl
        self.loopWait = loopWait
        self.retryTimeout = retryTimeout
    }
}
