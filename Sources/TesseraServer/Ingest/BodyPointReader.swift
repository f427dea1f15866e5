import Hummingbird
import NIOCore
import TesseraCore

/// Reads points from a streamed request body in one of the ingest formats, handing
/// each to the session as it completes; never holds the whole body.
enum BodyPointReader {
    enum Format {
        /// `{"points": [...]}`
        case json
        /// One JSON point per line.
        case ndjson
        /// InfluxDB line protocol; entity = measurement and sorted tags, attribute = field.
        case lineProtocol(LineProtocolPrecision)
    }

    /// Largest point (a JSON element or a line): room for the largest value (64 KiB of
    /// text, up to 6x that when written with JSON escapes) and its names.
    static let maxPointBytes = 512 << 10

    static func read(_ body: RequestBody, format: Format, maxBytes: Int, into session: inout IngestSession) async throws {
        switch format {
        case .json: try await self.readJSON(body, maxBytes: maxBytes, into: &session)
        case .ndjson: try await self.readLines(body, maxBytes: maxBytes, decoder: .ndjson, into: &session)
        case .lineProtocol(let precision):
            try await self.readLines(body, maxBytes: maxBytes, decoder: .lineProtocol(LineProtocolParser(precision: precision)), into: &session)
        }
    }

    /// Turns one line of a line-oriented body into points.
    enum LineDecoder {
        case ndjson
        case lineProtocol(LineProtocolParser)

        var quoteAware: Bool {
            if case .lineProtocol = self { return true }
            return false
        }

        func decode(_ bytes: [UInt8], line: Int) throws(TesseraError) -> [IncomingPoint] {
            switch self {
            case .ndjson:
                do throws(TesseraError) {
                    return [try JSONPointDecoder.decode(bytes, index: line)]
                } catch {
                    throw TesseraError(error.code, "Line \(line): " + error.detail, index: line, line: line)
                }
            case .lineProtocol(let parser):
                let parsed: LineProtocolLine?
                do throws(LineProtocolError) {
                    parsed = try parser.parseLine(bytes, lineNumber: line)
                } catch {
                    throw TesseraError(.invalidPoint, error.message, index: line, line: line)
                }
                return parsed?.incomingPoints(index: line) ?? []
            }
        }
    }

    private static func readJSON(_ body: RequestBody, maxBytes: Int, into session: inout IngestSession) async throws {
        var scanner = PointsArrayScanner(maxElementBytes: self.maxPointBytes)
        var total = 0
        do {
            for try await chunk in body {
                total += chunk.readableBytes
                if total > maxBytes { throw self.tooLarge(maxBytes, session) }
                let outputs: [PointsArrayScanner.Output]
                do {
                    outputs = try scanner.feed(chunk.readableBytesView)
                } catch {
                    throw self.malformed(error, session)
                }
                for output in outputs {
                    switch output {
                    case .element(let bytes, let index):
                        let point: IncomingPoint
                        do throws(TesseraError) {
                            point = try JSONPointDecoder.decode(bytes, index: index)
                        } catch {
                            session.reject(PointRejection(index: index, error))
                            continue
                        }
                        try await session.add(point, bytes: bytes.count)
                    case .elementTooLarge(let index):
                        session.reject(
                            PointRejection(
                                index: index,
                                code: TesseraError.Code.invalidPoint.rawValue,
                                detail: "Point \(index) is larger than \(self.maxPointBytes) bytes."
                            )
                        )
                    }
                }
            }
            do {
                try scanner.finish()
            } catch {
                throw self.malformed(error, session)
            }
        } catch let error as TesseraError {
            throw error
        } catch {
            throw TesseraError(.invalidBody, "The request body could not be read to its end.")
        }
    }

    private static func readLines(
        _ body: RequestBody,
        maxBytes: Int,
        decoder: LineDecoder,
        into session: inout IngestSession
    ) async throws {
        var splitter = LineSplitter(maxLineBytes: self.maxPointBytes, quoteAware: decoder.quoteAware)
        var total = 0
        do {
            for try await chunk in body {
                total += chunk.readableBytes
                if total > maxBytes { throw self.tooLarge(maxBytes, session) }
                try await self.handle(splitter.feed(chunk.readableBytesView), decoder: decoder, into: &session)
            }
            try await self.handle(splitter.finish(), decoder: decoder, into: &session)
        } catch let error as TesseraError {
            throw error
        } catch {
            throw TesseraError(.invalidBody, "The request body could not be read to its end.")
        }
    }

    private static func handle(
        _ pieces: [LineSplitter.Piece],
        decoder: LineDecoder,
        into session: inout IngestSession
    ) async throws {
        for piece in pieces {
            switch piece {
            case .line(let bytes, let line):
                if bytes.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }) { continue }
                let points: [IncomingPoint]
                do throws(TesseraError) {
                    points = try decoder.decode(bytes, line: line)
                } catch {
                    session.reject(PointRejection(index: line, error))
                    continue
                }
                for point in points { try await session.add(point, bytes: bytes.count / max(1, points.count) + 1) }
            case .tooLong(let line):
                session.reject(
                    PointRejection(
                        index: line,
                        code: TesseraError.Code.invalidPoint.rawValue,
                        detail: "Line \(line) is longer than \(self.maxPointBytes) bytes."
                    )
                )
            }
        }
    }

    private static func tooLarge(_ maxBytes: Int, _ session: IngestSession) -> TesseraError {
        let kept = session.accepted > 0 ? " The first \(session.accepted) points were accepted." : ""
        return TesseraError(.bodyTooLarge, "The body is larger than the \(maxBytes) bytes an ingest request may carry; split it.\(kept)")
    }

    private static func malformed(_ error: PointsArrayScanner.Failure, _ session: IngestSession) -> TesseraError {
        guard case .malformed(let message) = error else { return TesseraError(.invalidJSON, "The body is not valid JSON.") }
        let kept = session.accepted > 0 ? " The \(session.accepted) points before the error were accepted." : ""
        return TesseraError(.invalidJSON, "The body is not a valid {\"points\": [...]} document: \(message).\(kept)")
    }
}
