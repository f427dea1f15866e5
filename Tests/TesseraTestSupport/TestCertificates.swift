import Foundation
import TesseraLocal

/// A certificate authority made for one test by `openssl` (EC P-256, valid two days),
/// and the server certificates it signs: what the TLS tests trust and serve.
package struct TestCertificates: Sendable {
    package static let openssl = "/usr/bin/openssl"
    /// Whether this machine can make them (`make test` installs openssl).
    package static var available: Bool { FileManager.default.isExecutableFile(atPath: openssl) }

    package let directory: String
    /// The CA's certificate (PEM): what a client told to trust the test CA trusts.
    package var authority: String { self.directory + "/ca.crt" }

    /// A new CA in a temporary directory of its own; `remove()` deletes it.
    package static func make() async throws -> TestCertificates {
        let directory = NSTemporaryDirectory() + "tessera-tests-\(getpid())-tls-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        // Reachable by the unprivileged user PostgreSQL runs as.
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: directory)
        try await offloaded {
            try Command(
                executable: openssl,
                arguments: [
                    "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                    "-keyout", directory + "/ca.key", "-out", directory + "/ca.crt", "-days", "2", "-subj", "/CN=Tessera Test CA",
                ]
            ).check()
        }
        return TestCertificates(directory: directory)
    }

    /// A certificate the CA signed for `names` (`DNS:localhost`, `IP:127.0.0.1`), and
    /// its key: the paths of their PEM files, `<name>.crt` and `<name>.key`.
    package func server(_ name: String, names: [String]) async throws -> (certificate: String, key: String) {
        let base = self.directory + "/" + name
        let directory = self.directory
        try await offloaded {
            try Command(
                executable: Self.openssl,
                arguments: [
                    "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                    "-keyout", base + ".key", "-out", base + ".csr", "-subj", "/CN=\(name)",
                ]
            ).check()
            FileManager.default.createFile(atPath: base + ".ext", contents: Data("subjectAltName=\(names.joined(separator: ","))\n".utf8))
            try Command(
                executable: Self.openssl,
                arguments: [
                    "x509", "-req", "-in", base + ".csr", "-CA", directory + "/ca.crt", "-CAkey", directory + "/ca.key",
                    "-CAcreateserial", "-out", base + ".crt", "-days", "2", "-extfile", base + ".ext",
                ]
            ).check()
        }
        return (base + ".crt", base + ".key")
    }

    package func remove() {
        try? FileManager.default.removeItem(atPath: self.directory)
    }
}
