/// The `redis.conf` settings the local cluster's Redis runs with, after the lines
/// that place it (port, files, password). Redis takes no comments at the end of a
/// line, so each reason stands above its line.
enum RedisSettings {
    /// A cache: memory is capped and the least recently used keys go first.
    /// Each line says why.
    static let tuned =
        common + """
            # 256 MB: the entity and query cache of one server on a 2-core/24 GiB machine
            # shared with PostgreSQL (2 GB shared buffers plus replicas) and the Swift server.
            # The hot set is the latest values of hot attributes: small, and it fits.
            maxmemory 256mb

            """

    /// For test suites: the same shape, small, so that many test processes and the
    /// tests' PostgreSQL leave the machine's memory alone; tests that fill it to
    /// see eviction or OOM get there quickly.
    static let test =
        common + """
            # 64 MB: tests store kilobytes; small enough to reach eviction in a test.
            maxmemory 64mb

            """

    private static let common = """
        # When full, evict the least recently used key of any kind (every key is a cache entry
        # that can be rebuilt from PostgreSQL), rather than refusing writes.
        maxmemory-policy allkeys-lru
        # Evict and free big values in a background thread, off the command path.
        lazyfree-lazy-eviction yes
        lazyfree-lazy-expire yes
        # No persistence: it is a cache, emptied on restart, and snapshots would fork and
        # double its memory at the worst time.
        save ""
        appendonly no
        # Notice dead clients (a crashed server's pool) within a minute.
        tcp-keepalive 60
        loglevel notice

        """
}
