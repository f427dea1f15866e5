// libFuzzer target: an InfluxDB line-protocol body, split into lines as the server
// streams it (the first input byte chooses where the body is cut in two chunks), each
// line parsed at a precision the second byte chooses, each point checked at the edge.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzLineProtocol(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    guard bytes.count >= 2 else { return 0 }
    let body = bytes[2...]
    let precisions: [LineProtocolPrecision] = [.nanoseconds, .microseconds, .milliseconds, .seconds, .minutes, .hours]
    let parser = LineProtocolParser(precision: precisions[Int(bytes[1]) % precisions.count])
    var splitter = LineSplitter(maxLineBytes: 4_096, quoteAware: true)
    let cut = body.startIndex + Int(bytes[0]) % (body.count + 1)
    var pieces = splitter.feed(body[body.startIndex..<cut])
    pieces += splitter.feed(body[cut...])
    pieces += splitter.finish()
    for piece in pieces {
        guard case .line(let line, let number) = piece else { continue }
        guard let parsed = try? parser.parseLine(line, lineNumber: number) else { continue }
        for point in parsed.incomingPoints(index: number) { checkAtTheEdge(point) }
    }
    return 0
}
