import BusinessCalendar
import Foundation
import Testing

/// Re-derives Japan's 2026-2028 holidays from the Act on National Holidays
/// (with the equinox days NAOJ gives) using Foundation's own Calendar, and
/// checks `deploy/config/holidays/jp.json` lists exactly those days.
@Suite("Japanese holiday data (R-ORG-5)")
struct JapaneseHolidayDataTests {
    /// Vernal and autumnal equinox days: NAOJ's 暦要項 for 2026 and 2027,
    /// NAOJ's calculation for 2028 (official in February 2027).
    static let equinoxes = [2026: (3, 20, 9, 23), 2027: (3, 21, 9, 23), 2028: (3, 20, 9, 22)]

    @Test("jp.json lists exactly the days off the Act gives for 2026, 2027 and 2028")
    func datesFollowTheAct() throws {
        let tokyo = try Fixture.tokyo()
        let listed = Set(tokyo.holidays.compactMap { holiday -> String? in
            if case .date(let date) = holiday.rule { return date.description }
            return nil
        })
        var expected = Set<String>()
        for year in 2026...2028 { expected.formUnion(Self.daysOff(year)) }
        #expect(listed.subtracting(expected).isEmpty, "listed but not in the Act: \(listed.subtracting(expected).sorted())")
        #expect(expected.subtracting(listed).isEmpty, "missing: \(expected.subtracting(listed).sorted())")
        for text in expected { #expect(!tokyo.isBusinessDay(Fixture.date(text))) }
    }

    @Test("Spot checks from the Cabinet Office lists", arguments: [
        ("2026-05-06", "振替休日"), ("2026-09-22", "国民の休日"), ("2027-01-11", "成人の日"),
        ("2027-03-22", "振替休日"), ("2028-01-10", "成人の日"), ("2028-09-22", "秋分の日"),
    ])
    func spotChecks(_ date: String, _ name: String) throws {
        let tokyo = try Fixture.tokyo()
        let holiday = tokyo.holidays.first { $0.rule == .date(Fixture.date(date)) }
        #expect(holiday?.name.hasPrefix(name) == true)
    }

    /// Article 2 holidays, then Article 3(2) substitutes and 3(3) citizens' holidays.
    static func daysOff(_ year: Int) -> Set<String> {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = Fixture.zone("Asia/Tokyo")
        func day(_ month: Int, _ day: Int) -> Date {
            calendar.date(from: DateComponents(year: year, month: month, day: day))!
        }
        func mondays(_ month: Int, _ nth: Int) -> Date {
            // weekday 2 is Monday in Foundation's numbering.
            calendar.date(from: DateComponents(year: year, month: month, weekday: 2, weekdayOrdinal: nth))!
        }
        let (springMonth, springDay, autumnMonth, autumnDay) = Self.equinoxes[year]!
        var holidays: [Date] = [
            day(1, 1), mondays(1, 2), day(2, 11), day(2, 23), day(springMonth, springDay), day(4, 29),
            day(5, 3), day(5, 4), day(5, 5), mondays(7, 3), day(8, 11), mondays(9, 3),
            day(autumnMonth, autumnDay), mondays(10, 2), day(11, 3), day(11, 23),
        ]
        let national = Set(holidays)
        for holiday in national where calendar.component(.weekday, from: holiday) == 1 {
            var substitute = calendar.date(byAdding: .day, value: 1, to: holiday)!
            while national.contains(substitute) { substitute = calendar.date(byAdding: .day, value: 1, to: substitute)! }
            holidays.append(substitute)
        }
        for holiday in national {
            let next = calendar.date(byAdding: .day, value: 1, to: holiday)!
            let after = calendar.date(byAdding: .day, value: 2, to: holiday)!
            if !national.contains(next) && national.contains(after) { holidays.append(next) }
        }
        let format = Date.ISO8601FormatStyle(timeZone: calendar.timeZone).year().month().day()
        return Set(holidays.map { $0.formatted(format) })
    }
}
