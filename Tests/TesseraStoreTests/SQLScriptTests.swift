import Testing

@testable import TesseraStore

/// The migration splitter: pure, no server.
@Suite struct SQLScriptTests {
    @Test func splitsAtTopLevelSemicolons() {
        let statements = SQLScript.statements("CREATE TABLE a (x int);\nCREATE TABLE b (y int);\n")
        #expect(statements == ["CREATE TABLE a (x int)", "CREATE TABLE b (y int)"])
    }

    @Test func keepsSemicolonsInsideQuotesCommentsAndDollarBodies() {
        let script = """
            -- a comment; with a semicolon
            INSERT INTO t VALUES ('a;b', 'it''s;', E'back\\';slash');
            /* block; /* nested; */ still comment; */
            CREATE FUNCTION f() RETURNS int LANGUAGE plpgsql AS $body$
            BEGIN
                PERFORM 1; RETURN 2;
            END
            $body$;
            SELECT "odd;name" FROM t;
            SELECT $$a;b$$
            """
        let statements = SQLScript.statements(script)
        #expect(statements.count == 4)
        #expect(statements[0].hasSuffix("E'back\\';slash')"))
        #expect(statements[1].contains("PERFORM 1; RETURN 2;"))
        #expect(statements[2] == "SELECT \"odd;name\" FROM t")
        #expect(statements[3] == "SELECT $$a;b$$")
    }

    @Test func dropsEmptyAndCommentOnlyStatements() {
        #expect(SQLScript.statements(";;  -- nothing\n;/* x */").isEmpty)
    }

    @Test func theBundledSchemaSplitsIntoWholeStatements() throws {
        let migrations = try Migration.bundled()
        #expect(migrations.first?.version == 1)
        let statements = SQLScript.statements(migrations[0].sql)
        #expect(statements.contains { $0.contains("CREATE FUNCTION health_check()") && $0.hasSuffix("$$") })
        #expect(statements.contains { $0.contains("CREATE UNLOGGED TABLE entity_values_ingest") && !$0.contains("CREATE TABLE entity_jsonb") })
    }

    @Test func migrationFileNamesCarryVersionAndName() throws {
        let migration = try Migration(fileName: "0007_add_rollups.sql", sql: "SELECT 1")
        #expect(migration.version == 7)
        #expect(migration.name == "add_rollups")
        #expect(migration.checksum.count == 64)
        #expect(throws: (any Error).self) { try Migration(fileName: "rollups.sql", sql: "") }
    }
}
