extension Duration {
    /// This duration in seconds, with its fraction.
    var benchSeconds: Double {
        Double(self.components.seconds) + Double(self.components.attoseconds) / 1e18
    }

    /// This duration in milliseconds, with its fraction.
    var benchMilliseconds: Double {
        Double(self.components.seconds) * 1_000 + Double(self.components.attoseconds) / 1e15
    }
}
