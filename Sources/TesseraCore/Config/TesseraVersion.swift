/// This build's version, as `tessera --version` and `tessera_build_info` give it.
package enum TesseraVersion {
    package static let current = "0.19.0"
}
