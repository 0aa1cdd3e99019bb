import BusinessCalendar
import Foundation
import Testing

@Suite("Loading offices.json")
struct OfficeDirectoryLoadingTests {
    @Test("The shipped deploy/config loads: Tokyo on R-ORG-5 hours with Japan's 2026-2028 holidays")
    func shippedConfiguration() throws {
        let offices = try Fixture.shippedOffices()
        #expect(offices.ids == ["new-york", "tokyo"])
        let tokyo = try #require(offices["tokyo"])
        #expect(tokyo.timeZone.identifier == "Asia/Tokyo")
        #expect(tokyo.hours == .standard)
        #expect(tokyo.holidays.count == 51)
        #expect(tokyo.holidaysKnownThrough == Fixture.date("2028-12-31"))
        #expect(tokyo.version.hasPrefix("fnv1a64:") && tokyo.version.count == 24)
        #expect(try Fixture.shippedOffices() == offices, "loading is deterministic, version included")
    }

    @Test(
        "The shipped new-york office follows US federal holidays, recurring and observed",
        arguments: [
            ("2026-01-19", false),  // Martin Luther King Jr. Day, 3rd Monday
            ("2026-05-25", false),  // Memorial Day, last Monday of May
            ("2026-07-03", false),  // Independence Day observed (7/4 is a Saturday)
            ("2026-11-26", false),  // Thanksgiving, 4th Thursday
            ("2026-11-27", true),
            ("2027-12-31", false),  // New Year's Day 2028 observed
            ("2026-03-09", true),
        ])
    func newYorkHolidays(_ date: String, _ isBusinessDay: Bool) throws {
        let newYork = try #require(try Fixture.shippedOffices()["new-york"])
        #expect(newYork.isBusinessDay(Fixture.date(date)) == isBusinessDay)
    }

    @Test("A configured version string is used as is; otherwise the fingerprint follows the content")
    func versions() throws {
        let office = """
            {"offices": [{"id": "a", "timeZone": "UTC", %@}]}
            """
        func load(_ extra: String) throws -> String {
            let directory = try Fixture.configDirectory([
                "offices.json": office.replacingOccurrences(of: "%@", with: extra)
            ])
            defer { try? FileManager.default.removeItem(at: directory) }
            return try #require(try OfficeDirectory.load(configDirectory: directory)["a"]).version
        }
        #expect(try load(#""version": "2026.1""#) == "2026.1")
        let plain = try load(#""holidays": []"#)
        let withHoliday = try load(#""holidays": [{"name": "x", "date": "2026-06-01"}]"#)
        #expect(plain != withHoliday)
        #expect(plain == (try load(#""closures": []"#)))
        #expect(plain == (try load(#""language": "ja""#)), "the language is not part of the calendar")
    }

    struct BadFile: CustomTestStringConvertible, Sendable {
        let what: String
        let offices: String
        var holidays: String? = nil
        let file: String
        let key: String
        let code: BusinessCalendarError.Code
        let message: String
        var testDescription: String { self.what }
    }

    static let good = #""id": "tokyo", "timeZone": "Asia/Tokyo""#

    static let badFiles: [BadFile] = [
        BadFile(
            what: "an end after 24:00",
            offices: #"{"offices": [{\#(good), "hours": {"monday": ["09:00-12:00", "13:00-25:00"]}}]}"#,
            file: "offices.json", key: "offices[0].hours.monday[1]", code: .invalidValue, message: "end 25:00 is after 24:00"),
        BadFile(
            what: "overlapping intervals",
            offices: #"{"offices": [{\#(good), "hours": {"tuesday": ["10:00-13:00", "12:00-18:00"]}}]}"#,
            file: "offices.json", key: "offices[0].hours.tuesday[1]", code: .invalidValue,
            message: "12:00-18:00 overlaps offices[0].hours.tuesday[0] (10:00-13:00)"),
        BadFile(
            what: "a start after the end",
            offices: #"{"offices": [{\#(good), "hours": {"friday": ["18:00-10:00"]}}]}"#,
            file: "offices.json", key: "offices[0].hours.friday[0]", code: .invalidValue,
            message: "start 18:00 is not before end 10:00"),
        BadFile(
            what: "an interval that is not HH:MM-HH:MM",
            offices: #"{"offices": [{\#(good), "hours": {"friday": ["10-18"]}}]}"#,
            file: "offices.json", key: "offices[0].hours.friday[0]", code: .invalidValue,
            message: "\"10-18\" is not HH:MM-HH:MM"),
        BadFile(
            what: "a misspelt weekday",
            offices: #"{"offices": [{\#(good), "hours": {"moonday": []}}]}"#,
            file: "offices.json", key: "offices[0].hours.moonday", code: .unknownKey, message: "unknown key"),
        BadFile(
            what: "a misspelt office key",
            offices: #"{"offices": [{\#(good), "hollidays": []}]}"#,
            file: "offices.json", key: "offices[0].hollidays", code: .unknownKey, message: "unknown key"),
        BadFile(
            what: "a missing time zone",
            offices: #"{"offices": [{"id": "tokyo"}]}"#,
            file: "offices.json", key: "offices[0].timeZone", code: .missingKey, message: "is required"),
        BadFile(
            what: "an unknown time zone",
            offices: #"{"offices": [{"id": "tokyo", "timeZone": "Asia/Tokio"}]}"#,
            file: "offices.json", key: "offices[0].timeZone", code: .invalidValue, message: "\"Asia/Tokio\" is not"),
        BadFile(
            what: "a language mail is not written in",
            offices: #"{"offices": [{\#(good), "language": "fr"}]}"#,
            file: "offices.json", key: "offices[0].language", code: .invalidValue, message: "use one of en, ja"),
        BadFile(
            what: "a language that is not a string",
            offices: #"{"offices": [{\#(good), "language": 1}]}"#,
            file: "offices.json", key: "offices[0].language", code: .invalidValue, message: "string"),
        BadFile(
            what: "two offices with one id",
            offices: #"{"offices": [{\#(good)}, {\#(good)}]}"#,
            file: "offices.json", key: "offices[1].id", code: .invalidValue, message: "already used by offices[0]"),
        BadFile(
            what: "an ordinal of 0",
            offices: #"{"offices": [{\#(good), "holidays": [{"name": "x", "month": 1, "weekday": "monday", "ordinal": 0}]}]}"#,
            file: "offices.json", key: "offices[0].holidays[0].ordinal", code: .invalidValue, message: "-1 for the last"),
        BadFile(
            what: "February 30 every year",
            offices: #"{"offices": [{\#(good), "holidays": [{"name": "x", "month": 2, "day": 30}]}]}"#,
            file: "offices.json", key: "offices[0].holidays[0].day", code: .invalidValue, message: "month 2 has no day 30"),
        BadFile(
            what: "a date that is both a closure and an extra working day",
            offices: #"{"offices": [{\#(good), "closures": [{"date": "2026-12-29"}], "extraWorkingDays": [{"date": "2026-12-29"}]}]}"#,
            file: "offices.json", key: "offices[0].extraWorkingDays[0].date", code: .invalidValue, message: "is also a closure"),
        BadFile(
            what: "an unsupported format version",
            offices: #"{"formatVersion": 2, "offices": [{\#(good)}]}"#,
            file: "offices.json", key: "formatVersion", code: .invalidValue, message: "outside 1...1"),
        BadFile(
            what: "no offices",
            offices: #"{"offices": []}"#,
            file: "offices.json", key: "offices", code: .invalidValue, message: "at least one office"),
        BadFile(
            what: "text that is not JSON",
            offices: #"{"offices": [ "#,
            file: "offices.json", key: "", code: .malformedJSON, message: "is not valid JSON"),
        BadFile(
            what: "a holiday file that does not exist",
            offices: #"{"offices": [{\#(good), "holidayFiles": ["holidays/xx.json"]}]}"#,
            file: "offices.json", key: "offices[0].holidayFiles[0]", code: .invalidValue, message: "holidays/xx.json cannot be read"),
        BadFile(
            what: "a holiday file path outside the directory",
            offices: #"{"offices": [{\#(good), "holidayFiles": ["../jp.json"]}]}"#,
            file: "offices.json", key: "offices[0].holidayFiles[0]", code: .invalidValue, message: "inside the configuration directory"),
        BadFile(
            what: "a bad date in a holiday file",
            offices: #"{"offices": [{\#(good), "holidayFiles": ["holidays/jp.json"]}]}"#,
            holidays: #"{"source": "test", "holidays": [{"name": "a", "date": "2026-01-01"}, {"name": "b", "date": "2026-02-30"}]}"#,
            file: "holidays/jp.json", key: "holidays[1].date", code: .invalidValue, message: "\"2026-02-30\" is not a date"),
        BadFile(
            what: "a holiday file without a source",
            offices: #"{"offices": [{\#(good), "holidayFiles": ["holidays/jp.json"]}]}"#,
            holidays: #"{"holidays": []}"#,
            file: "holidays/jp.json", key: "source", code: .missingKey, message: "is required"),
        BadFile(
            what: "a date listed twice in a holiday file",
            offices: #"{"offices": [{\#(good), "holidayFiles": ["holidays/jp.json"]}]}"#,
            holidays: #"{"source": "t", "holidays": [{"name": "a", "date": "2026-01-01"}, {"name": "b", "date": "2026-01-01"}]}"#,
            file: "holidays/jp.json", key: "holidays[1]", code: .invalidValue, message: "also at holidays[0]"),
    ]

    @Test("A bad file fails to load with an error naming the file and the key", arguments: badFiles)
    func badFile(_ bad: BadFile) throws {
        var files = ["offices.json": bad.offices]
        if let holidays = bad.holidays { files["holidays/jp.json"] = holidays }
        let directory = try Fixture.configDirectory(files)
        defer { try? FileManager.default.removeItem(at: directory) }
        let error = #expect(throws: BusinessCalendarError.self) {
            try OfficeDirectory.load(configDirectory: directory)
        }
        #expect(error?.file == bad.file)
        #expect(error?.key == bad.key)
        #expect(error?.code == bad.code)
        #expect(error?.description.contains(bad.message) == true, "\(error.map(String.init(describing:)) ?? "")")
    }

    @Test("A missing offices.json is an unreadable file")
    func missingFile() throws {
        let directory = try Fixture.configDirectory([:])
        defer { try? FileManager.default.removeItem(at: directory) }
        let error = #expect(throws: BusinessCalendarError.self) { try OfficeDirectory.load(configDirectory: directory) }
        #expect(error?.code == .unreadableFile)
        #expect(error?.file == "offices.json")
    }

    @Test("Issue 22: the shipped tokyo office writes to its customers in Japanese, new-york in English; an office without a language in English")
    func languages() throws {
        let shipped = try Fixture.shippedOffices()
        #expect(shipped.language(of: "tokyo") == "ja")
        #expect(shipped.language(of: "new-york") == "en")
        let directory = try Fixture.configDirectory([
            "offices.json": #"{"offices": [{"id": "osaka", "timeZone": "Asia/Tokyo"}, {"id": "kyoto", "timeZone": "Asia/Tokyo", "language": "ja"}]}"#
        ])
        defer { try? FileManager.default.removeItem(at: directory) }
        let offices = try OfficeDirectory.load(configDirectory: directory)
        #expect(offices.language(of: "osaka") == "en")
        #expect(offices.language(of: "kyoto") == "ja")
        #expect(offices.language(of: "nowhere") == "en")
    }

    @Test("Defaults: R-ORG-5 hours when none are given; an extra working day copies the usual hours")
    func defaults() throws {
        let directory = try Fixture.configDirectory([
            "offices.json": #"""
                {"offices": [{"id": "osaka", "timeZone": "Asia/Tokyo",
                  "closures": [{"date": "2026-12-29", "reason": "year-end"}],
                  "extraWorkingDays": [{"date": "2026-12-26"}, {"date": "2026-12-27", "hours": ["13:00-15:00"]}]}]}
                """#
        ])
        defer { try? FileManager.default.removeItem(at: directory) }
        let osaka = try #require(try OfficeDirectory.load(configDirectory: directory)["osaka"])
        #expect(osaka.hours == .standard)
        #expect(osaka.holidaysKnownThrough == nil)
        #expect(!osaka.isBusinessDay(Fixture.date("2026-12-29")))
        #expect(osaka.hours(on: Fixture.date("2026-12-26")) == [Fixture.interval("10:00-18:00")])
        #expect(osaka.hours(on: Fixture.date("2026-12-27")) == [Fixture.interval("13:00-15:00")])
    }
}
