import Foundation
import GRDB
import ServiceKit
import SupportRPC

extension NotifierEngine {
    /// R-REP-1: every three months from a certificate's start, the TAM's
    /// periodic report of the quarter just ended is generated and sent.
    ///
    /// Each certificate remembers how many periods it has had reported, so
    /// a restart, or a fake clock moved months at once, sends each period's
    /// report exactly once.
    func generateScheduledReports(now: Date, in db: Database) throws -> [Report] {
        var reports: [Report] = []
        for certificate in try NotifierStore.certificates(in: db) where certificate.hasValidFrom {
            let zone = self.offices[certificate.office]?.timeZone ?? TimeZone(identifier: "UTC")!
            var calendar = Calendar(identifier: .gregorian)
            calendar.timeZone = zone
            let done = try Int.fetchOne(
                db.cachedStatement(sql: "SELECT periods_done FROM report_schedule WHERE certificate_id = ?"), arguments: [certificate.certificateID]
            ) ?? 0
            var period = done
            while let start = calendar.date(byAdding: .month, value: 3 * period, to: certificate.validFrom.date),
                let end = calendar.date(byAdding: .month, value: 3 * (period + 1), to: certificate.validFrom.date),
                end <= now,
                !certificate.hasValidUntil || end <= certificate.validUntil.date.addingTimeInterval(86400)
            {
                period += 1
                // The calendar quarter the period began in names the report.
                let quarter = QuarterlyReport.quarter(containing: start, zone: zone)
                do {
                    reports.append(try self.generateReport(certificate: certificate.certificateID, quarter: quarter, send: true, now: now, in: db))
                } catch let error as RPCError where error.code == .failedPrecondition {
                    continue  // a quarter outside the validity: nothing to report
                }
            }
            if period != done {
                try db.executeCached(
                    sql: """
                        INSERT INTO report_schedule (certificate_id, periods_done) VALUES (?, ?)
                        ON CONFLICT(certificate_id) DO UPDATE SET periods_done = excluded.periods_done
                        """,
                    arguments: [certificate.certificateID, period]
                )
            }
        }
        return reports
    }
}

extension QuarterlyReport {
    /// "2026Q4" for an instant in `zone`.
    static func quarter(containing instant: Date, zone: TimeZone) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = zone
        let parts = calendar.dateComponents([.year, .month], from: instant)
        return "\(parts.year!)Q\((parts.month! - 1) / 3 + 1)"
    }
}
