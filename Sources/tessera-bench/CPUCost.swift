/// What a system's writes cost the machine's cores, summed over its runs: CPU seconds
/// (`MachineCPU.accounted`) over the values it stored, as microseconds a value.
package struct CPUCost {
    package init() {}

    private var values = [String: Int]()
    private var seconds = [String: Double]()
    /// Systems with a run whose CPU could not be read (no `/proc/stat`).
    private var unknown = Set<String>()
    /// Systems with a run that began or ended on a machine busy with something else.
    private var unsettled = Set<String>()

    package mutating func add(_ system: String, values: Int, cpu: MachineCPU.Charge?) {
        self.values[system, default: 0] += values
        guard let cpu else {
            self.unknown.insert(system)
            return
        }
        self.seconds[system, default: 0] += cpu.seconds
        if !cpu.settled { self.unsettled.insert(system) }
    }

    /// Whether a run of `system` began or ended before the machine was quiet.
    package func isUnsettled(_ system: String) -> Bool {
        self.unsettled.contains(system)
    }

    /// Microseconds of CPU a stored value, or nil when unknown or nothing was stored.
    package func microseconds(_ system: String) -> Double? {
        guard !self.unknown.contains(system), let values = self.values[system], values > 0, let seconds = self.seconds[system] else { return nil }
        return seconds / Double(values) * 1e6
    }

    func cells(note: String?) -> [String: BenchReport.Cell] {
        var cells = [String: BenchReport.Cell]()
        for system in self.values.keys {
            let busy = self.isUnsettled(system) ? "a run began or ended on a busy machine: other work may be in it" : nil
            let notes = [note, busy].compactMap { $0 }
            cells[system] =
                self.microseconds(system).map { .rate($0, note: notes.isEmpty ? nil : notes.joined(separator: "; ")) }
                ?? .absent(self.unknown.contains(system) ? "no /proc/stat" : "nothing stored")
        }
        return cells
    }
}
