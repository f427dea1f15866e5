import Foundation
import NIOSSL
import TesseraCore

/// HTTPS for the API: the server's certificate chain and private key, read from PEM
/// files once at start, so that a wrong path or an unusable pair fails there
/// with a sentence, not at the first client's handshake.
package struct ServerTLS: Sendable {
    package let configuration: TLSConfiguration
    package let certificateFile: String

    package init(certificateFile: String, keyFile: String) throws(TesseraError) {
        let chain: [NIOSSLCertificate]
        do {
            chain = try NIOSSLCertificate.fromPEMFile(certificateFile)
        } catch {
            throw TesseraError(.invalidParameter, "The TLS certificate file \(certificateFile) is not a readable PEM certificate chain (\(error)).")
        }
        guard !chain.isEmpty else {
            throw TesseraError(.invalidParameter, "The TLS certificate file \(certificateFile) holds no certificate.")
        }
        let key: NIOSSLPrivateKey
        do {
            key = try NIOSSLPrivateKey(file: keyFile, format: .pem)
        } catch {
            throw TesseraError(.invalidParameter, "The TLS key file \(keyFile) is not a readable PEM private key (\(error)).")
        }
        var configuration = TLSConfiguration.makeServerConfiguration(certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
        configuration.minimumTLSVersion = .tlsv12
        do {
            _ = try NIOSSLContext(configuration: configuration)
        } catch {
            throw TesseraError(.invalidParameter, "The TLS certificate \(certificateFile) and key \(keyFile) cannot serve together (\(error)).")
        }
        self.configuration = configuration
        self.certificateFile = certificateFile
    }
}
