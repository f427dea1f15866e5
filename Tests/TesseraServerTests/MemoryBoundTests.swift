import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import TesseraServer
import Testing

/// A request's memory is bounded whatever its body: points are parsed and written in
/// chunks of at most a few MiB as the body streams, and a point larger than 512 KiB is
/// skipped without being held. Measured as the test process's resident memory while a
/// large body goes through a real connection.
@Suite struct MemoryBoundTests {
    /// The growth of resident memory the test allows (the suites running beside it in the
    /// same process count too: 52 MiB measured in a whole `make test`, 13 MiB alone).
    /// Parsing the large point whole would take ~200 MB alone (4M JSON numbers, ~50 bytes
    /// each parsed).
    static let bound = 128 << 20

    @Test func aLargeBodyOfTinyValuesKeepsResidentMemoryBounded() async throws {
        try await APITester.run(maxIngestBodyBytes: 256 << 20, overHTTP: true) { client, _ in
            let tenant = try await client.createTenant("memory")
            // 2 MiB of tiny points, and one point whose value is an 8 MiB array of numbers, 16
            // times the largest point. (A debug build takes ~3 s for this body alone; inside the
            // whole suite, even 10 MiB took longer than 20 s on 2026-12-03.)
            let point = #"{"entity":"e","attribute":"v","value":1},"#
            var body = #"{"points":["#
            body += String(repeating: point, count: (2 << 20) / point.utf8.count)
            body += #"{"entity":"e","attribute":"j","value":["# + String(repeating: "1,", count: 4 << 20) + "1]}]}"
            let bytes = ByteBuffer(string: body)
            body = ""
            let baseline = Self.residentBytes()
            let peak = PeakSampler()
            let sampling = Task {
                while !Task.isCancelled {
                    peak.record(Self.residentBytes())
                    try? await Task.sleep(for: .milliseconds(20))
                }
            }
            // A client of its own, patient for 3 minutes: this test bounds memory, not time
            // (the test framework's client gives up after 20 s, and the whole suite beside
            // this request has taken longer than that).
            let patient = TestClient(host: "127.0.0.1", port: try #require(client.port), configuration: .init(timeout: .seconds(180)))
            patient.connect()
            let response: TestClient.Response
            do {
                response = try await patient.execute(
                    TestClient.Request(
                        "/v1/ingest",
                        method: .post,
                        headers: [.authorization: "Bearer \(tenant.key)", .contentType: "application/json"],
                        body: bytes
                    )
                )
            } catch {
                try? await patient.shutdown()
                throw error
            }
            try await patient.shutdown()
            sampling.cancel()
            let growth = peak.value - baseline
            let answered = response.body ?? ByteBuffer()
            #expect(response.status == .ok, "\(String(buffer: answered).prefix(300))")
            let result = try #require(try JSONSerialization.jsonObject(with: Data(answered.readableBytesView)) as? [String: Any])
            #expect((result["rejected"] as? [[String: Any]])?.first?["code"] as? String == "invalid_point")
            #expect(growth < Self.bound, "resident memory grew \(growth >> 20) MiB")
            print("MemoryBoundTests: resident memory grew \(growth >> 20) MiB for a \(bytes.readableBytes >> 20) MiB body")
        }
    }

    static func residentBytes() -> Int {
        guard let status = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
        let fields = status.split(separator: " ")
        guard fields.count > 1, let pages = Int(fields[1]) else { return 0 }
        return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
    }
}

/// The largest value recorded, from any thread.
final class PeakSampler: @unchecked Sendable {
    // @unchecked: every access goes through `lock`.
    private let lock = NSLock()
    private var peak = 0

    func record(_ value: Int) {
        self.lock.lock()
        self.peak = max(self.peak, value)
        self.lock.unlock()
    }

    var value: Int {
        self.lock.lock()
        defer { self.lock.unlock() }
        return self.peak
    }
}
