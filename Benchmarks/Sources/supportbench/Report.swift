import Foundation

/// A figure measured over repeated runs: its median and its 99th percentile.
///
/// For a latency the samples are every call of every run; for a rate they
/// are the runs, and ``p99`` is the run that 99% of runs beat (the slow tail),
/// so a noisy neighbour shows up there rather than in the median.
struct Figure: Codable, Sendable {
    var median: Double
    var p99: Double
    var samples: Int

    /// Latencies (or anything where lower is better): p99 is the high tail.
    static func latencies(_ values: [Double]) -> Figure {
        let sorted = values.sorted()
        return Figure(median: percentile(sorted, 0.5), p99: percentile(sorted, 0.99), samples: sorted.count)
    }

    /// Rates (higher is better): p99 is the low tail.
    static func rates(_ values: [Double]) -> Figure {
        let sorted = values.sorted()
        return Figure(median: percentile(sorted, 0.5), p99: percentile(sorted, 0.01), samples: sorted.count)
    }

    static func single(_ value: Double) -> Figure { Figure(median: value, p99: value, samples: 1) }

    private static func percentile(_ sorted: [Double], _ q: Double) -> Double {
        guard !sorted.isEmpty else { return .nan }
        let rank = q * Double(sorted.count - 1)
        let low = Int(rank.rounded(.down))
        let high = min(sorted.count - 1, low + 1)
        return sorted[low] + (sorted[high] - sorted[low]) * (rank - Double(low))
    }
}

/// One line of the table: ours beside a baseline, and the ratio of medians.
struct Row: Codable, Sendable {
    var benchmark: String
    var metric: String
    var unit: String
    var ours: Figure
    var baseline: String?
    var baselineFigure: Figure?
    /// ours ÷ baseline (medians).
    var ratio: Double?
    /// The issue's target for this line, in words, and whether it is met.
    var target: String?
    var met: Bool?

    init(
        _ benchmark: String, _ metric: String, unit: String, ours: Figure,
        baseline: String? = nil, _ baselineFigure: Figure? = nil,
        target: String? = nil, met: ((Double) -> Bool)? = nil
    ) {
        self.benchmark = benchmark
        self.metric = metric
        self.unit = unit
        self.ours = ours
        self.baseline = baseline
        self.baselineFigure = baselineFigure
        if let baselineFigure, baselineFigure.median != 0 { self.ratio = ours.median / baselineFigure.median }
        self.target = target
        // A target on a ratio judges the ratio, otherwise ours' p99 or median.
        if let met { self.met = met(self.ratio ?? ours.median) }
    }
}

/// Collects rows, prints them as they come and at the end as one table.
final class Report: @unchecked Sendable {
    // Only the benchmark's one driving task touches it: no lock needed.
    private(set) var rows: [Row] = []
    let started = Date()

    func add(_ row: Row) {
        self.rows.append(row)
        print("  " + Self.line(row))
        fflush(nil)
    }

    func table() -> String {
        let header = ["benchmark", "metric", "unit", "median", "p99", "baseline", "median", "p99", "ratio", "target"]
        let body = self.rows.map { row -> [String] in
            [
                row.benchmark, row.metric, row.unit, Self.format(row.ours.median), Self.format(row.ours.p99),
                row.baseline ?? "", row.baselineFigure.map { Self.format($0.median) } ?? "",
                row.baselineFigure.map { Self.format($0.p99) } ?? "",
                row.ratio.map { String(format: "%.2f×", $0) } ?? "",
                row.target.map { "\($0) \(row.met == true ? "✓" : row.met == false ? "✗" : "")" } ?? "",
            ]
        }
        let all = [header] + body
        let widths = (0..<header.count).map { column in all.map { $0[column].count }.max() ?? 0 }
        return all.enumerated().map { index, cells in
            let line = cells.enumerated().map { column, cell in
                column == 0 || column == 1 || column == 2 || column == 5 || column == 9
                    ? cell.padding(toLength: widths[column], withPad: " ", startingAt: 0)
                    : String(repeating: " ", count: widths[column] - cell.count) + cell
            }.joined(separator: "  ")
            return index == 0 ? line + "\n" + String(repeating: "─", count: line.count) : line
        }.joined(separator: "\n")
    }

    func writeJSON(to path: String, mode: String) throws {
        struct Document: Codable {
            var mode: String
            var started: Date
            var seconds: Double
            var rows: [Row]
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.dateEncodingStrategy = .iso8601
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        let document = Document(mode: mode, started: self.started, seconds: Date().timeIntervalSince(self.started), rows: self.rows)
        try encoder.encode(document).write(to: URL(fileURLWithPath: path))
    }

    static func line(_ row: Row) -> String {
        var text = "\(row.benchmark) \(row.metric): \(format(row.ours.median)) \(row.unit) (p99 \(format(row.ours.p99)))"
        if let baseline = row.baseline, let figure = row.baselineFigure {
            text += " vs \(baseline) \(format(figure.median)) (p99 \(format(figure.p99)))"
        }
        if let ratio = row.ratio { text += String(format: " = %.2f×", ratio) }
        if let target = row.target { text += " [target \(target): \(row.met == true ? "met" : "not met")]" }
        return text
    }

    static func format(_ value: Double) -> String {
        if value.isNaN { return "–" }
        if value >= 100_000 { return String(format: "%.0fk", value / 1000) }
        if value >= 100 { return String(format: "%.0f", value) }
        if value >= 10 { return String(format: "%.1f", value) }
        return String(format: "%.2f", value)
    }
}
