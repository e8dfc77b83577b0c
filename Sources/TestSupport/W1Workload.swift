import Foundation
public import SyncCore

/// Workload W1/W1c of `../shared/bench/WORKLOAD.md`: the end-of-day merge.
///
/// Either read from a dump of `workload.py --dump` (then the data are byte-identical to
/// every other system measured on it) or generated here with the same shape.
public struct W1Workload: Sendable {
    /// The 11 fields, in the dump's order; index 0 is the id.
    public static let fields = [
        "id", "kind", "category", "title", "description", "citizen_name", "phone", "address", "status", "community", "created_at",
    ]
    static let updatable = [1, 2, 3, 4, 5, 6, 7, 8]

    /// A create: the 11 values in ``fields`` order.
    public typealias Row = [String]
    /// An update: case id, field index, value.
    public typealias Update = (id: String, field: Int, value: String)

    public var inserts: [[Row]]
    public var updates: [[Update]]
    /// W1c writes per replica (status then title of the same cases).
    public var conflictWrites: [[Update]]
    /// Final W1 rows by id (only when read from a dump).
    public var finalRows: [String: Row] = [:]
    /// W1c last-writer-wins values in replica order, by id and field (only from a dump).
    public var conflictFinal: [String: [Int: String]] = [:]

    public var replicaCount: Int { inserts.count }

    /// Every case's final W1 row by id, what a correct merge must hold: the dump's (`F`
    /// lines) when read from one, else each replica's creates with its own updates applied
    /// in order (W1's replicas update only their own cases, so no two writes meet).
    public var expectedFinalRows: [String: Row] {
        if !finalRows.isEmpty { return finalRows }
        var rows: [String: Row] = [:]
        for replica in inserts.indices {
            for row in inserts[replica] { rows[row[0]] = row }
            for update in updates[replica] { rows[update.id]?[update.field] = update.value }
        }
        return rows
    }

    /// W1c's winners by id and field index: the dump's last-writer-wins reference (`Y`
    /// lines), else the same rule applied here — the last write in replica order (later
    /// replicas write later, so their clocks are later too).
    public var expectedConflictWinners: [String: [Int: String]] {
        if !conflictFinal.isEmpty { return conflictFinal }
        var winners: [String: [Int: String]] = [:]
        for writes in conflictWrites {
            for write in writes { winners[write.id, default: [:]][write.field] = write.value }
        }
        return winners
    }
    public var changeCount: Int { inserts.reduce(0) { $0 + $1.count } + updates.reduce(0) { $0 + $1.count } }

    /// Reads a TSV dump (`H`, `I`, `U`, `F`, `X`, `Y` lines).
    public init(dump path: String) throws {
        let text = try String(contentsOfFile: path, encoding: .utf8)
        inserts = []
        updates = []
        conflictWrites = []
        for line in text.split(separator: "\n", omittingEmptySubsequences: true) {
            let parts = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            func replica(_ index: Int) -> Int { Int(parts[index]) ?? 0 }
            switch parts[0] {
            case "H":
                let count = Int(parts[1]) ?? 0
                inserts = Array(repeating: [], count: count)
                updates = Array(repeating: [], count: count)
                conflictWrites = Array(repeating: [], count: count)
            case "I": inserts[replica(1)].append(Array(parts[2...]))
            case "U": updates[replica(1)].append((parts[2], Int(parts[3]) ?? 0, parts[4]))
            case "F": finalRows[parts[2]] = Array(parts[2...])
            case "X": conflictWrites[replica(1)].append((parts[2], Int(parts[3]) ?? 0, parts[4]))
            case "Y": conflictFinal[parts[1], default: [:]][Int(parts[2]) ?? 0] = parts[3]
            default: continue
            }
        }
    }

    /// Generates W1-shaped data: `replicas` × `creates` cases, `updatesPerReplica`
    /// single-field updates of the replica's own cases, and W1c on `conflictCases` cases.
    public init(seed: UInt64 = 20_240_603, replicas: Int = 20, creates: Int = 500, updatesPerReplica: Int = 2000, conflictCases: Int = 200)
    {
        let hanzi = Array("的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动同工也能下过子说产种面而楼栋单元电梯漏水噪音停车垃圾清运物业维修供暖燃气安全隐患邻里纠纷低保补贴就业培训医疗养老助残救助志愿服务")
        let kinds = ["咨询", "求助", "投诉", "建议", "表扬", "举报"]
        let categories = ["物业管理", "环境卫生", "治安消防", "邻里纠纷", "社会保障", "医疗卫生", "就业创业", "养老服务", "住房保障", "市政设施", "交通出行", "教育文化"]
        let statuses = ["新建", "已受理", "处理中", "待回访", "已办结", "已关闭"]
        var random = SeededRandom(seed: seed)
        func text(_ low: Int, _ high: Int) -> String {
            String((0..<Int.random(in: low...high, using: &random)).map { _ in hanzi.randomElement(using: &random)! })
        }
        func value(_ field: Int) -> String {
            switch field {
            case 1: kinds.randomElement(using: &random)!
            case 2: categories.randomElement(using: &random)!
            case 3: text(18, 22)
            case 4: text(190, 210)
            case 5: text(2, 3)
            case 6:
                "1" + String(Int.random(in: 3...9, using: &random))
                    + String(format: "%09d", Int.random(in: 0..<1_000_000_000, using: &random))
            case 7:
                "和平路\(Int.random(in: 1...300, using: &random))号\(Int.random(in: 1...30, using: &random))栋\(Int.random(in: 1...6, using: &random))单元\(Int.random(in: 101...2802, using: &random))室"
            default: statuses.randomElement(using: &random)!
            }
        }
        func uuid() -> String {
            let hex = String(format: "%016llx%016llx", random.next(), random.next())
            let chars = Array(hex)
            return
                "\(String(chars[0..<8]))-\(String(chars[8..<12]))-4\(String(chars[13..<16]))-a\(String(chars[17..<20]))-\(String(chars[20..<32]))"
        }
        inserts = []
        updates = []
        for replica in 0..<replicas {
            var rows: [Row] = []
            for index in 0..<creates {
                var row = [uuid()]
                for field in 1...8 { row.append(value(field)) }
                row.append("社区\(replica)")
                let seconds = 8 * 3600 + replica * 37 + index * 61
                row.append(String(format: "2024-06-03T%02d:%02d:%02d+08:00", seconds / 3600 % 24, seconds / 60 % 60, seconds % 60))
                rows.append(row)
            }
            var ups: [Update] = []
            for _ in 0..<updatesPerReplica {
                let row = rows.randomElement(using: &random)!
                let field = Self.updatable.randomElement(using: &random)!
                ups.append((row[0], field, value(field)))
            }
            inserts.append(rows)
            updates.append(ups)
        }
        let ids = inserts.flatMap { $0.map { $0[0] } }
        let picked = Array(ids.shuffled(using: &random).prefix(conflictCases))
        conflictWrites = (0..<replicas).map { _ in picked.flatMap { [($0, 8, value(8)), ($0, 3, value(3))] } }
    }
}
