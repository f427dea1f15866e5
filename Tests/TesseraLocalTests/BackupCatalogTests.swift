import Foundation
import TesseraLocal
import Testing

/// The catalog `tessera backup list` shows, read from what pgBackRest 2.45 prints.
@Suite struct BackupCatalogTests {
    static let info = #"""
        [{"archive":[{"database":{"id":1,"repo-key":1},"id":"15-1","max":"000000010000000000000005","min":"000000010000000000000001"}],
          "backup":[
            {"archive":{"start":"000000010000000000000002","stop":"000000010000000000000002"},"backrest":{"format":5,"version":"2.45"},
             "database":{"id":1,"repo-key":1},"error":false,"info":{"delta":39773260,"repository":{"delta":7717501,"size":7717501},"size":39773260},
             "label":"20261204-142845F","lsn":{"start":"0/2000028","stop":"0/20393B8"},"prior":null,"reference":null,
             "timestamp":{"start":1796394525,"stop":1796394528},"type":"full"},
            {"archive":{"start":"000000010000000000000004","stop":"000000010000000000000004"},"backrest":{"format":5,"version":"2.45"},
             "database":{"id":1,"repo-key":1},"error":false,"info":{"delta":8192,"repository":{"delta":2048,"size":7719549},"size":39781452},
             "label":"20261204-142845F_20261204-150000I","lsn":{"start":"0/4000028","stop":"0/4000100"},"prior":"20261204-142845F",
             "reference":["20261204-142845F"],"timestamp":{"start":1796396400,"stop":1796396401},"type":"incr"}],
          "cipher":"none","db":[{"id":1,"repo-key":1,"system-id":7715455700550562447,"version":"15"}],"name":"tessera",
          "repo":[{"cipher":"none","key":1,"status":{"code":0,"message":"ok"}}],"status":{"code":0,"lock":{"backup":{"held":false}},"message":"ok"}}]
        """#

    @Test func backupsAndTheArchivedWALAreReadFromPgBackRestsJSON() throws {
        let catalog = try BackupCatalog(pgBackRestJSON: Data(Self.info.utf8))
        #expect(catalog.status == "ok")
        #expect(catalog.backups.map(\.type) == ["full", "incr"])
        #expect(catalog.backups.first?.label == "20261204-142845F")
        #expect(catalog.backups.first?.started == Date(timeIntervalSince1970: 1_796_394_525))
        #expect(catalog.backups.first?.repositoryBytes == 7_717_501)
        #expect(catalog.backups.last?.walStart == "000000010000000000000004")
        #expect(catalog.oldestWAL == "000000010000000000000001")
        #expect(catalog.newestWAL == "000000010000000000000005")
    }

    @Test func aRepositoryWithoutTheStanzaHasNoBackups() throws {
        let catalog = try BackupCatalog(pgBackRestJSON: Data(#"[{"name":"other","status":{"code":1,"message":"missing stanza path"}}]"#.utf8))
        #expect(catalog.backups.isEmpty)
        #expect(catalog.status == "no stanza")
        #expect(catalog.newestWAL == nil)
    }
}
