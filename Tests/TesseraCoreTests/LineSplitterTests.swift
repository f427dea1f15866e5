import Testing

@testable import TesseraCore

/// Feeds `chunks` and then finishes, collecting every piece.
private func split(_ chunks: [[UInt8]], maxLineBytes: Int = 1 << 20, quoteAware: Bool = true) -> [LineSplitter.Piece] {
    var splitter = LineSplitter(maxLineBytes: maxLineBytes, quoteAware: quoteAware)
    var pieces: [LineSplitter.Piece] = []
    for chunk in chunks { pieces += splitter.feed(chunk) }
    return pieces + splitter.finish()
}

private func split(_ text: String, maxLineBytes: Int = 1 << 20, quoteAware: Bool = true) -> [LineSplitter.Piece] {
    split([Array(text.utf8)], maxLineBytes: maxLineBytes, quoteAware: quoteAware)
}

private func line(_ text: String, _ number: Int) -> LineSplitter.Piece {
    .line(Array(text.utf8), lineNumber: number)
}

/// A small deterministic generator (SplitMix64) for reproducible random chunking.
private struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// A body with every case that decides where lines end.
private let trickyBody = Array(
    ("weather,station=Dongsi temp=1.5 1\n"
        + "\n"
        + "# comment with \"quote\n"
        + "m s=\"multi\nline\\\" still\",t=1i 2\r\n"
        + "quote\"in,tag=\"v f=1\n"
        + "esc,t=a\\\nb f=2\n"
        + "m \"key=1\n"
        + "long field=\"" + String(repeating: "x", count: 40) + "\" 3\n"
        + "crlf f=3\r\n"
        + "# a=\"open\n"
        + "swallowed f=\"by the comment\"\n"
        + "last f=4\\\n").utf8
)

@Suite struct LineSplitterTests {
    @Test func splitsOnNewlines() {
        #expect(split("a\nb\n") == [line("a", 1), line("b", 2)])
        #expect(split("a\nb") == [line("a", 1), line("b", 2)])
        #expect(split("a\n\n\nb\n") == [line("a", 1), line("", 2), line("", 3), line("b", 4)])
        #expect(split("") == [])
        #expect(split("\n") == [line("", 1)])
        #expect(split("a\r\nb\r\n") == [line("a\r", 1), line("b\r", 2)])
    }

    @Test func finishReturnsOnlyAnUnterminatedLastLine() {
        var splitter = LineSplitter()
        #expect(splitter.feed(Array("a f=1\nb f=".utf8)) == [line("a f=1", 1)])
        #expect(splitter.feed(Array("2".utf8)) == [])
        #expect(splitter.finish() == [line("b f=2", 2)])
        var terminated = LineSplitter()
        #expect(terminated.feed(Array("a f=1\n".utf8)) == [line("a f=1", 1)])
        #expect(terminated.finish() == [])
    }

    @Test func newlineInsideAQuotedFieldValueContinuesTheLine() {
        #expect(split("m s=\"x\ny\" 1\nn f=1\n") == [line("m s=\"x\ny\" 1", 1), line("n f=1", 3)])
        #expect(split("m a=1,s=\"x\n\ny\"\nn f=1") == [line("m a=1,s=\"x\n\ny\"", 1), line("n f=1", 4)])
        // An escaped quote does not close the value.
        #expect(split("m s=\"x\\\"\ny\"\nn f=1") == [line("m s=\"x\\\"\ny\"", 1), line("n f=1", 3)])
    }

    @Test func quotesOutsideFieldValuesAreLiteral() {
        #expect(split("m\"x,t=\"v f=1\nn f=2\n") == [line("m\"x,t=\"v f=1", 1), line("n f=2", 2)])
        #expect(split("m,t=\"a f=1\nn f=2") == [line("m,t=\"a f=1", 1), line("n f=2", 2)])
        // In a field key (as many '=' as ',' seen) a quote does not open a string.
        #expect(split("m \"k=1\nn f=2") == [line("m \"k=1", 1), line("n f=2", 2)])
        #expect(split("m a=1,\"k=1\nn f=2") == [line("m a=1,\"k=1", 1), line("n f=2", 2)])
    }

    @Test func backslashEscapesTheNextByteIncludingNewline() {
        #expect(split("m,t=a\\\nb f=1\nn f=2\n") == [line("m,t=a\\\nb f=1", 1), line("n f=2", 3)])
        // At the very end of the body the newline still ends the line (as InfluxDB).
        var splitter = LineSplitter()
        #expect(splitter.feed(Array("m f=1\\\n".utf8)) == [])
        #expect(splitter.finish() == [line("m f=1\\", 1)])
        #expect(split("a\\") == [line("a\\", 1)])
    }

    @Test func plainModeSplitsOnEveryNewline() {
        let body = "{\"a\":\"x\ny\"}\n{\"b\":\"\\\n\"}\n"
        #expect(split(body, quoteAware: false) == [line("{\"a\":\"x", 1), line("y\"}", 2), line("{\"b\":\"\\", 3), line("\"}", 4)])
        #expect(split(body) != split(body, quoteAware: false))
    }

    @Test func tooLongLinesAreReportedAndSkipped() {
        #expect(split("12345\n123456\nabc\n", maxLineBytes: 5) == [line("12345", 1), .tooLong(lineNumber: 2), line("abc", 3)])
        #expect(split("123456", maxLineBytes: 5) == [.tooLong(lineNumber: 1)])
        #expect(split("a\n1234567890123\nb", maxLineBytes: 5) == [line("a", 1), .tooLong(lineNumber: 2), line("b", 3)])
        // The skipped line still ends where the quote-aware scanner says.
        #expect(split("m s=\"aaaa\nbbbb\" 1\nx f=1\n", maxLineBytes: 8) == [.tooLong(lineNumber: 1), line("x f=1", 3)])
        #expect(split("", maxLineBytes: 0) == [])
        #expect(split("\n\na\n", maxLineBytes: 0) == [line("", 1), line("", 2), .tooLong(lineNumber: 3)])
    }

    @Test func tooLongLineIsNotBuffered() {
        var splitter = LineSplitter(maxLineBytes: 10)
        #expect(splitter.feed(Array(repeating: UInt8(ascii: "x"), count: 8)) == [])
        #expect(splitter.feed(Array(repeating: UInt8(ascii: "x"), count: 8)) == [.tooLong(lineNumber: 1)])
        for _ in 0..<1000 {
            #expect(splitter.feed(Array(repeating: UInt8(ascii: "x"), count: 1000)) == [])
        }
        #expect(splitter.feed(Array("\nok\n".utf8)) == [line("ok", 2)])
        #expect(splitter.finish() == [])
    }

    @Test func trickyBodySplitsAsInflux() {
        let pieces = split([trickyBody])
        #expect(
            pieces == [
                line("weather,station=Dongsi temp=1.5 1", 1),
                line("", 2),
                line("# comment with \"quote", 3),
                line("m s=\"multi\nline\\\" still\",t=1i 2\r", 4),
                line("quote\"in,tag=\"v f=1", 6),
                line("esc,t=a\\\nb f=2", 7),
                line("m \"key=1", 9),
                line("long field=\"" + String(repeating: "x", count: 40) + "\" 3", 10),
                line("crlf f=3\r", 11),
                line("# a=\"open\nswallowed f=\"by the comment\"\nlast f=4\\", 12),
            ]
        )
    }

    @Test(arguments: [true, false])
    func chunkBoundariesDoNotMatter(quoteAware: Bool) {
        for maxLineBytes in [1 << 20, 20, 1] {
            let whole = split([trickyBody], maxLineBytes: maxLineBytes, quoteAware: quoteAware)
            let byteByByte = split(trickyBody.map { [$0] }, maxLineBytes: maxLineBytes, quoteAware: quoteAware)
            #expect(byteByByte == whole)
            var generator = SplitMix64(state: UInt64(maxLineBytes) &* 31 &+ (quoteAware ? 1 : 0))
            for _ in 0..<50 {
                var chunks: [[UInt8]] = []
                var offset = 0
                while offset < trickyBody.count {
                    let size = Int.random(in: 0...12, using: &generator)
                    let end = min(offset + size, trickyBody.count)
                    chunks.append(Array(trickyBody[offset..<end]))
                    offset = end
                }
                #expect(split(chunks, maxLineBytes: maxLineBytes, quoteAware: quoteAware) == whole)
            }
        }
    }

    @Test func acceptsSlicesAndNonContiguousChunks() {
        var splitter = LineSplitter()
        let bytes = Array("a f=1\nb f=2\n".utf8)
        #expect(splitter.feed(bytes[0..<3]) == [])
        #expect(splitter.feed(bytes[3...].lazy.map { $0 }) == [line("a f=1", 1), line("b f=2", 2)])
    }

    @Test func parseOfAWholeBodyMatchesSplittingThenParsingEachLine() {
        let parser = LineProtocolParser(precision: .seconds)
        var viaSplitter: [LineProtocolLine] = []
        var errorsViaSplitter: [LineProtocolError] = []
        for piece in split([trickyBody]) {
            guard case .line(let bytes, let number) = piece else { continue }
            do {
                if let parsed = try parser.parseLine(bytes, lineNumber: number) { viaSplitter.append(parsed) }
            } catch {
                errorsViaSplitter.append(error)
            }
        }
        let (lines, errors) = parser.parse(trickyBody)
        #expect(lines == viaSplitter)
        #expect(errors == errorsViaSplitter)
        #expect(lines.map(\.measurement) == ["weather", "m", "quote\"in", "esc", "m", "long", "crlf"])
        #expect(lines.map(\.lineNumber) == [1, 4, 6, 7, 9, 10, 11])
        #expect(
            lines[1].fields == [
                LineProtocolLine.Field(key: "s", value: .string("multi\nline\" still")),
                LineProtocolLine.Field(key: "t", value: .integer(1)),
            ]
        )
        #expect(lines[2].tags == [LineProtocolLine.Tag(key: "tag", value: "\"v")])
        #expect(lines[4].fields == [LineProtocolLine.Field(key: "\"key", value: .float(1))])
        #expect(lines.map(\.timestamp) == [1_000_000_000, 2_000_000_000, nil, nil, nil, 3_000_000_000, nil])
        #expect(errors.isEmpty)
    }
}
