import Foundation
import GRDB
import ServiceKit
import SupportRPC
import Testing
import TestSupport

@Suite("Service database")
struct DatabaseTests {
    @Test("Opening migrates ServiceKit's tables then the service's, in WAL mode with foreign keys on")
    func migrates() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let database = try ServiceDatabase(path: directory.file("x.sqlite"), synchronous: .full) { migrator in
            migrator.registerMigration("x-1-things") { db in
                try db.create(table: "thing") { $0.autoIncrementedPrimaryKey("id") }
            }
        }
        let schema = try database.schemaVersion()
        #expect(schema.version == 5)
        #expect(schema.latest == "x-1-things")
        let (journal, foreignKeys, synchronous) = try database.writer.read { db in
            (
                try String.fetchOne(db, sql: "PRAGMA journal_mode"),
                try Int.fetchOne(db, sql: "PRAGMA foreign_keys"),
                try Int.fetchOne(db, sql: "PRAGMA synchronous")
            )
        }
        #expect(journal == "wal")
        #expect(foreignKeys == 1)
        #expect(synchronous == 2, "FULL")
        // Opening again applies nothing twice.
        let again = try ServiceDatabase(path: directory.file("x.sqlite")) { migrator in
            migrator.registerMigration("x-1-things") { db in
                try db.create(table: "thing") { $0.autoIncrementedPrimaryKey("id") }
            }
        }
        #expect(try again.schemaVersion().version == 5)
    }
}

@Suite("access.json")
struct AccessConfigTests {
    @Test("Numeric ids parse; bad bytes throw a sentence that names the fault")
    func parse() throws {
        let policy = try AccessConfig.parse(Data(#"{"trustServiceUser": false, "staff": {"users": [0], "groups": []}}"#.utf8))
        #expect(!policy.trustServiceUser)
        for (bytes, fault) in [
            (#"{"customer": {"groups": ["no-such-group-here"]}}"#, #"customer.groups[0]: no group "no-such-group-here""#),
            ("[]", "the top level must be an object"),
            ("{", "is not valid JSON"),
            (#"{"trustServiceUser": "yes"}"#, "trustServiceUser must be true or false"),
            (#"{"staf": {}}"#, "staf"),
        ] {
            let error = try #require(throws: RuntimeError.self) { try AccessConfig.parse(Data(bytes.utf8)) }
            #expect(error.message.contains(fault), "\(bytes): \(error.message)")
        }
    }
}

