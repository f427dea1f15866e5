import Foundation

/// What a pgBackRest repository holds for the cluster: its backups, oldest first, and the
/// archived WAL (`pgbackrest info --output=json`). A point in time can be restored from
/// the start of the oldest backup to the end of the archive.
package struct BackupCatalog: Sendable, Codable {
    package struct Backup: Sendable, Codable {
        package var label: String
        package var type: String
        package var started: Date
        package var stopped: Date
        /// The database's size, and what the backup took in the repository (compressed,
        /// and only the changed files for `diff` and `incr`).
        package var databaseBytes: Int64
        package var repositoryBytes: Int64
        /// The WAL segments the backup needs to be consistent.
        package var walStart: String
        package var walStop: String
    }

    package var backups: [Backup]
    /// The oldest and newest archived WAL segment, nil when nothing is archived yet.
    package var oldestWAL: String?
    package var newestWAL: String?
    /// pgBackRest's own verdict on the stanza ("ok", or why not).
    package var status: String

    package init(backups: [Backup], oldestWAL: String?, newestWAL: String?, status: String) {
        self.backups = backups
        self.oldestWAL = oldestWAL
        self.newestWAL = newestWAL
        self.status = status
    }

    /// Decodes the array `pgbackrest info --output=json` prints, for stanza `tessera`.
    package init(pgBackRestJSON data: Data) throws {
        struct Stanza: Decodable {
            struct Archive: Decodable {
                var min: String?
                var max: String?
            }
            struct Entry: Decodable {
                struct Span: Decodable {
                    var start: String
                    var stop: String
                }
                struct Times: Decodable {
                    var start: Double
                    var stop: Double
                }
                struct Sizes: Decodable {
                    struct Repository: Decodable { var size: Int64 }
                    var size: Int64
                    var repository: Repository
                }
                var label: String
                var type: String
                var archive: Span
                var timestamp: Times
                var info: Sizes
            }
            struct Status: Decodable { var message: String }
            var name: String
            var archive: [Archive]?
            var backup: [Entry]?
            var status: Status
        }
        let stanzas = try JSONDecoder().decode([Stanza].self, from: data)
        guard let stanza = stanzas.first(where: { $0.name == PgBackRest.stanza }) else {
            self.init(backups: [], oldestWAL: nil, newestWAL: nil, status: "no stanza")
            return
        }
        self.init(
            backups: (stanza.backup ?? []).map {
                Backup(
                    label: $0.label,
                    type: $0.type,
                    started: Date(timeIntervalSince1970: $0.timestamp.start),
                    stopped: Date(timeIntervalSince1970: $0.timestamp.stop),
                    databaseBytes: $0.info.size,
                    repositoryBytes: $0.info.repository.size,
                    walStart: $0.archive.start,
                    walStop: $0.archive.stop
                )
            },
            oldestWAL: stanza.archive?.compactMap(\.min).min(),
            newestWAL: stanza.archive?.compactMap(\.max).max(),
            status: stanza.status.message
        )
    }
}
