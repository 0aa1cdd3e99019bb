import Foundation

/// Validation of `offices.json`, key by key; the format is documented in
/// `deploy/config/README.md`.
extension ConfigLoader {
    static let officeKeys = [
        "id", "timeZone", "version", "language", "hours", "holidayFiles", "holidays", "closures", "extraWorkingDays",
    ]

    /// One configured office: its calendar and the language of its
    /// customers' mail.
    struct ConfiguredOffice {
        var calendar: OfficeCalendar
        var language: String
    }

    mutating func offices(from root: ConfigNode) throws -> [ConfiguredOffice] {
        let object = try root.object(allowed: ["formatVersion", "offices"])
        if let format = object.optional("formatVersion") {
            _ = try format.int(in: 1...1)
        }
        let list = try object.required("offices")
        let entries = try list.array()
        guard !entries.isEmpty else { throw list.error(.invalidValue, "must list at least one office") }
        var idKeys: [String: String] = [:]
        return try entries.map { entry in
            let office = try self.office(entry)
            if let earlier = idKeys[office.calendar.id] {
                throw entry.child("id", .null).error(.invalidValue, "\"\(office.calendar.id)\" is already used by \(earlier)")
            }
            idKeys[office.calendar.id] = entry.key
            return office
        }
    }

    private mutating func office(_ node: ConfigNode) throws -> ConfiguredOffice {
        let object = try node.object(allowed: ConfigLoader.officeKeys)
        let idNode = try object.required("id")
        let id = try idNode.string()
        guard id.unicodeScalars.allSatisfy({ ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "-" }),
            !id.hasPrefix("-")
        else { throw idNode.error(.invalidValue, "\"\(id)\" must be lowercase letters, digits and hyphens") }

        let zoneNode = try object.required("timeZone")
        let zoneName = try zoneNode.string()
        guard let timeZone = TimeZone(identifier: zoneName) else {
            throw zoneNode.error(.invalidValue, "\"\(zoneName)\" is not a tz database zone such as \"Asia/Tokyo\"")
        }

        // R-ORG-5: an office that does not say otherwise works Mon–Fri 10:00–18:00.
        let hours = try object.optional("hours").map(ConfigLoader.weeklyHours) ?? .standard

        var holidays: [Holiday] = []
        var knownThrough: LocalDate?
        for reference in try object.optional("holidayFiles")?.array() ?? [] {
            let file = try self.holidayFile(at: reference)
            holidays += file.holidays
            if let through = file.knownThrough { knownThrough = min(knownThrough ?? through, through) }
        }
        holidays += try object.optional("holidays")?.array().map(ConfigLoader.holiday) ?? []

        var closureKeys: [LocalDate: String] = [:]
        let closures = try (object.optional("closures")?.array() ?? []).map { entry in
            let fields = try entry.object(allowed: ["date", "reason"])
            let date = try fields.required("date").date()
            if let earlier = closureKeys[date] { throw entry.error(.invalidValue, "\(date) is listed twice (also at \(earlier))") }
            closureKeys[date] = entry.key
            return Closure(date, reason: try fields.optional("reason")?.string(nonEmpty: false) ?? "")
        }

        var extraKeys: [LocalDate: String] = [:]
        let extraDays = try (object.optional("extraWorkingDays")?.array() ?? []).map { entry in
            let fields = try entry.object(allowed: ["date", "hours"])
            let dateNode = try fields.required("date")
            let date = try dateNode.date()
            if let closure = closureKeys[date] {
                throw dateNode.error(.invalidValue, "\(date) is also a closure (\(closure)); remove one of them")
            }
            if let earlier = extraKeys[date] { throw entry.error(.invalidValue, "\(date) is listed twice (also at \(earlier))") }
            extraKeys[date] = entry.key
            if let list = fields.optional("hours") {
                return ExtraWorkingDay(date, hours: try ConfigLoader.dayHours(list))
            }
            // Without its own hours the day is worked like a usual weekday.
            guard let usual = Weekday.allCases.lazy.map({ hours[$0] }).first(where: { !$0.isEmpty }) else {
                throw entry.child("hours", .null).error(.missingKey, "is required: the office has no weekly hours to copy")
            }
            return ExtraWorkingDay(date, hours: usual)
        }

        // Issue 22: the language of mail to the office's customers, unless
        // a certificate or contact says otherwise.
        var language = OfficeDirectory.defaultLanguage
        if let languageNode = object.optional("language") {
            language = try languageNode.string()
            guard OfficeDirectory.languages.contains(language) else {
                throw languageNode.error(
                    .invalidValue, "\"\(language)\" is not a language mail is written in; use one of \(OfficeDirectory.languages.joined(separator: ", "))")
            }
        }

        let version = try object.optional("version")?.string()
        let calendar = OfficeCalendar(
            id: id, timeZone: timeZone, hours: hours, holidays: holidays, closures: closures,
            extraWorkingDays: extraDays, holidaysKnownThrough: knownThrough, version: version)
        return ConfiguredOffice(calendar: calendar, language: language)
    }

    /// `{"monday": ["10:00-18:00"], …}`; weekdays left out are closed.
    static func weeklyHours(_ node: ConfigNode) throws -> WeeklyHours {
        let object = try node.object(allowed: Weekday.allCases.map(\.rawValue))
        var table: [Weekday: [OpenInterval]] = [:]
        for weekday in Weekday.allCases {
            if let day = object.optional(weekday.rawValue) { table[weekday] = try dayHours(day) }
        }
        return WeeklyHours(table)
    }

    /// A list of `"HH:MM-HH:MM"`; intervals may touch but not overlap.
    static func dayHours(_ node: ConfigNode) throws -> [OpenInterval] {
        var intervals: [(interval: OpenInterval, key: String)] = []
        for entry in try node.array() {
            let interval = try entry.interval()
            if let clash = intervals.first(where: {
                $0.interval.startMinute < interval.endMinute && interval.startMinute < $0.interval.endMinute
            }) {
                throw entry.error(.invalidValue, "\(interval) overlaps \(clash.key) (\(clash.interval))")
            }
            intervals.append((interval, entry.key))
        }
        return intervals.map(\.interval)
    }

    /// One holiday: `name` and exactly one of `date`; `month` + `day`;
    /// `month` + `weekday` + `ordinal` (1...5, or -1 for the last).
    static func holiday(_ node: ConfigNode) throws -> Holiday {
        let object = try node.object(allowed: ["name", "date", "month", "day", "weekday", "ordinal"])
        let name = try object.required("name").string()
        let recurringKeys = ["month", "day", "weekday", "ordinal"].filter { object.fields[$0] != nil }
        if let date = object.optional("date") {
            if let extra = recurringKeys.first {
                throw node.child(extra, .null).error(.invalidValue, "cannot be combined with date")
            }
            return Holiday(name, .date(try date.date()))
        }
        guard object.fields["month"] != nil else {
            throw node.error(.missingKey, "needs date, month and day, or month, weekday and ordinal")
        }
        let month = try object.required("month").int(in: 1...12)
        if let dayNode = object.optional("day") {
            if let extra = ["weekday", "ordinal"].first(where: { object.fields[$0] != nil }) {
                throw node.child(extra, .null).error(.invalidValue, "cannot be combined with day")
            }
            let day = try dayNode.int(in: 1...31)
            guard HolidayRule.yearly(month: month, day: day).isValid else {
                throw dayNode.error(.invalidValue, "month \(month) has no day \(day)")
            }
            return Holiday(name, .yearly(month: month, day: day))
        }
        let weekdayNode = try object.required("weekday")
        let weekdayName = try weekdayNode.string()
        guard let weekday = Weekday(rawValue: weekdayName) else {
            throw weekdayNode.error(.invalidValue, "\"\(weekdayName)\" is not monday…sunday")
        }
        let ordinalNode = try object.required("ordinal")
        let ordinal = try ordinalNode.int(in: -1...5)
        guard ordinal != 0 else { throw ordinalNode.error(.invalidValue, "must be 1...5, or -1 for the last") }
        return Holiday(name, .nthWeekday(ordinal: ordinal, weekday: weekday, month: month))
    }
}
