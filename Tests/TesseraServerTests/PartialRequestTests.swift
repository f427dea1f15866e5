import Foundation
import HTTPTypes
import HummingbirdTesting
import TesseraServer
import Testing

/// A large body is written in chunks as it streams: when it breaks after some chunks
/// were stored, the answer says exactly which points were (README, "Ingest").
@Suite struct PartialRequestTests {
    @Test func aBodyBrokenAfterItsFirstChunkSaysWhatWasStored() async throws {
        try await APITester.run { client, dependencies in
            let tenant = try await client.createTenant("broken-tail")
            let points = (0..<6_000).map { #"{"entity":"e-\#($0 % 10)","attribute":"v","value":\#($0),"ts":\#(1_764_000_000_000 + $0)}"# }
            let body = #"{"points":["# + points.joined(separator: ",") + ", {broken"
            let response = try await client.send(.post, "/v1/ingest", key: tenant.key, json: body)
            try response.expectProblem("invalid_json", .badRequest)
            let problem = try response.object()
            // The first chunk (5,000 points) was stored before the break was read.
            #expect(problem["accepted"] as? Int == 5_000)
            #expect(problem["stored_before"] as? Int == 5_000)
            try await waitForRows(dependencies.primary, tenant: tenant.id, count: 5_000)
            try await Task.sleep(for: .milliseconds(300))
            #expect(try await rowCount(dependencies.primary, tenant: tenant.id) == 5_000)
        }
    }

    @Test func aBodyBrokenBeforeAnyChunkWasWrittenStoresNothing() async throws {
        try await APITester.run { client, dependencies in
            let tenant = try await client.createTenant("broken-early")
            let response = try await client.send(.post, "/v1/ingest", key: tenant.key, json: #"{"points":[{"entity":"e","attribute":"v","value":1}, {"#)
            try response.expectProblem("invalid_json", .badRequest)
            #expect(try response.object()["accepted"] == nil)
            try await Task.sleep(for: .milliseconds(300))
            #expect(try await rowCount(dependencies.primary, tenant: tenant.id) == 0)
        }
    }
}
