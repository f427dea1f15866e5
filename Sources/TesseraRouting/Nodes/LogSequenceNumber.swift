/// A PostgreSQL WAL position (`pg_lsn`), as text `16/B374D848`: the commit
/// position a writer gets back and a reader may ask a replica to have replayed.
package struct LogSequenceNumber: Sendable, Hashable, Comparable, CustomStringConvertible {
    package var value: UInt64

    package init(_ value: UInt64) {
        self.value = value
    }

    /// Parses `XXXXXXXX/XXXXXXXX` (hexadecimal halves); nil when it is not one.
    package init?(_ text: some StringProtocol) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, (1...8).contains(parts[0].count), (1...8).contains(parts[1].count),
            let high = UInt64(parts[0], radix: 16), let low = UInt64(parts[1], radix: 16)
        else { return nil }
        self.value = high << 32 | low
    }

    package var description: String {
        String(self.value >> 32, radix: 16, uppercase: true) + "/" + String(self.value & 0xFFFF_FFFF, radix: 16, uppercase: true)
    }

    package static func < (lhs: Self, rhs: Self) -> Bool { lhs.value < rhs.value }
}
