/// How the HA cluster's Patroni decides (README: High availability). A node that stops
/// renewing its leader key for `ttl` seconds loses it, and the synchronous standby is promoted:
/// `ttl` bounds the failover time. `loopWait + 2 × retryTimeout ≤ ttl`.
package struct PatroniSettings: Sendable {
    package var ttl: Int
    package var loopWait: Int
    package var retryTimeout: Int

    /// 10 / 2 / 3: a node crash was failed over in 8.8 to 9.7 s on this 2-core machine
    /// (Patroni 3.0, etcd 3.4), against 29 s with Patroni's defaults (30 / 10 / 10).
    package init(ttl: Int = 10, loopWait: Int = 2, retryTimeout: Int = 3) {
        self.ttl = ttl
        self.loopWait = loopWait
        self.retryTimeout = retryTimeout
    }
}
