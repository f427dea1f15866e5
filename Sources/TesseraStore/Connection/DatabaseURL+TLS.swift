import NIOSSL
import TesseraCore

extension DatabaseURL {
    /// The client TLS configuration `sslmode` asks for, as libpq reads it: nil for
    /// `disable`; encryption without checking the server for `prefer` and `require`
    /// (unless `sslrootcert` names a CA, which makes `require` a `verify-ca`, as in
    /// libpq); the certificate's chain to `sslrootcert` (or the system's CAs) for
    /// `verify-ca`, and its host name too for `verify-full`.
    package var clientTLS: TLSConfiguration? {
        var configuration = TLSConfiguration.makeClientConfiguration()
        let mode = self.tls == .require && self.rootCertificate != nil ? .verifyCA : self.tls
        switch mode {
        case .disable: return nil
        case .prefer, .require: configuration.certificateVerification = .none
        case .verifyCA: configuration.certificateVerification = .noHostnameVerification
        case .verifyFull: configuration.certificateVerification = .fullVerification
        }
        if let rootCertificate = self.rootCertificate {
            configuration.trustRoots = .file(rootCertificate)
        }
        return configuration
    }
}
