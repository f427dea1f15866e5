// libFuzzer target: a `{"points": [...]}` body streamed through the scanner in two
// chunks (the first input byte chooses the cut), each element decoded as a point and
// checked at the edge; the same bytes also as one NDJSON point.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzJSONPoints(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    guard !bytes.isEmpty else { return 0 }
    let body = bytes[1...]
    var scanner = PointsArrayScanner(maxElementBytes: 4_096)
    let cut = body.startIndex + Int(bytes[0]) % (body.count + 1)
    var outputs = [PointsArrayScanner.Output]()
    do {
        outputs += try scanner.feed(body[body.startIndex..<cut])
        outputs += try scanner.feed(body[cut...])
        try scanner.finish()
    } catch {}
    for output in outputs {
        guard case .element(let element, let index) = output else { continue }
        if let point = try? JSONPointDecoder.decode(element, index: index) { checkAtTheEdge(point) }
    }
    if let point = try? JSONPointDecoder.decode(body, index: 0) { checkAtTheEdge(point) }
    return 0
}
