public import CaseDomain
public import SyncCore

/// The rules that keep a grant from being paid twice, pure (the server applies them under
/// the write lock every push takes, so two exports at the same moment never share a grant).
public enum PaymentBatch {
    /// Why a grant is not in a new batch.
    public enum Skip: Hashable, Sendable {
        case notApproved(GrantStage)
        case rejected
        case paid
        /// Payment records made concurrently: blocked until a person settles them.
        case conflict
        /// Already reserved for another batch.
        case reserved(String)
    }

    /// Why a batch cannot be recorded as paid.
    public struct Refusal: Error, Hashable, Sendable {
        public let zh: String
        public let en: String

        public func message(_ language: Language) -> String {
            language == .zh ? "无法登记兑付：" + zh : "cannot record the batch as paid: " + en
        }
    }

    /// Why `grant` may not go into a new batch, or nil when it may.
    public static func skip(_ grant: GrantState) -> Skip? {
        if grant.paymentCount > 1 { return .conflict }
        if grant.paymentCount == 1 || grant.stage == .paid { return .paid }
        if grant.isRejected { return .rejected }
        if grant.stage != .approved { return .notApproved(grant.stage) }
        if let batch = grant.batch { return .reserved(batch) }
        return nil
    }

    /// The grants a new batch takes (approved, not rejected, never paid, not in conflict,
    /// not reserved), each once, in id order; and the others with why.
    public static func select(_ grants: [GrantState]) -> (taken: [GrantState], skipped: [(grant: GrantState, why: Skip)]) {
        var taken: [GrantState] = []
        var skipped: [(grant: GrantState, why: Skip)] = []
        var seen: Set<String> = []
        for grant in grants.sorted(by: { $0.id < $1.id }) where seen.insert(grant.id).inserted {
            if let why = skip(grant) { skipped.append((grant, why)) } else { taken.append(grant) }
        }
        return (taken, skipped)
    }

    /// Checks that `ids` (a batch file's grants) may be recorded as paid under `batch`:
    /// each grant once, known, reserved for this batch, approved and never paid, not in
    /// conflict. Nothing is recorded unless every one passes.
    public static func checkPaid(_ ids: [String], states: [String: GrantState], batch: String) throws(Refusal) {
        guard !ids.isEmpty else { throw Refusal(zh: "批次中没有资金", en: "the batch holds no grant") }
        var seen: Set<String> = []
        for id in ids {
            guard seen.insert(id).inserted else {
                throw Refusal(zh: "批次中同一资金出现两次（\(id)）", en: "the batch holds grant \(id) twice")
            }
            guard let grant = states[id] else { throw Refusal(zh: "没有这项资金（\(id)）", en: "no grant \(id) is held here") }
            guard grant.batch == batch else {
                throw Refusal(
                    zh: "资金 \(id) 不属于批次 \(batch)",
                    en: "grant \(id) was not reserved for batch \(batch)" + (grant.batch.map { " (it is in \($0))" } ?? ""))
            }
            switch skip(
                GrantState(
                    id: id, stage: grant.stage, rejection: grant.rejection, amountFen: grant.amountFen, paymentCount: grant.paymentCount))
            {
            case nil: continue
            case .paid?: throw Refusal(zh: "资金 \(id) 已兑付", en: "grant \(id) is already paid")
            case .conflict?: throw Refusal(zh: "资金 \(id) 有冲突的兑付记录", en: "grant \(id) has conflicting payment records")
            case .rejected?: throw Refusal(zh: "资金 \(id) 已被驳回", en: "grant \(id) was rejected")
            case .notApproved(let stage)?:
                throw Refusal(zh: "资金 \(id) 当前为\(stage.label(.zh))", en: "grant \(id) is \(stage.rawValue), not approved")
            case .reserved?: continue
            }
        }
    }
}

extension PaymentBatch {
    /// The grants a new batch of `office` reserves among the read model's rows (each
    /// field's winner): its department's — every department's for the district — that
    /// ``select(_:)`` takes, in id order. What the server runs under its write lock.
    public static func reserve(_ rows: [[String: SyncCore.Value]], office: String, district: Bool) -> [String] {
        let grants = rows.filter { district || $0["department"]?.text == office }.map(GrantState.init(viewRow:))
        return select(grants).taken.map(\.id)
    }
}
