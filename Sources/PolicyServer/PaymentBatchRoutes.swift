import Foundation
import HTTPTypes
public import Hummingbird
import NIOCore
import PolicyDomain
import ReplicaStore
import SyncCore
public import SyncServer

/// Policy direct's part of the server: `POST /payment-batches` (PROTOCOL §10.3). A
/// department (or the district) reserves the approved, unpaid grants no batch holds yet:
/// one ``ServerWrite`` — under the lock every push takes, on every server process sharing
/// a database — reads them from the read model and writes the batch's id into each, so two
/// exports at the same moment never share a grant and a grant is never in two batches.
/// The answer adds each enterprise's name, bank and account from the read model: the one
/// way an account reaches a department, for the grants it pays.
public enum PaymentBatchRoutes {
    public static let path = "/payment-batches"

    /// The routes, for `makeSyncApplication(officeRoutes:)`.
    public static func routes() -> OfficeRoutes {
        OfficeRoutes(methods: [path: ["POST"]]) { router, requests in
            router.post(RouterPath(path)) { request, _ in try await handle(request, requests) }
        }
    }

    static func handle(_ request: Request, _ requests: OfficeRequests) async throws -> Response {
        let caller = try await requests.caller(request)
        let wanted: String?
        do { wanted = try PaymentBatchWire.decodeRequest(try await requests.body(request)) } catch let error as PaymentBatchWire.Invalid {
            throw ServerError.badRequest("invalid", "cannot read the payment batch request: \(error.description) (body)")
        }
        let storage = requests.storage
        let offices = try await storage.offices()
        guard let office = offices.first(where: { $0.code == caller.office }), office.level == .department || office.level == .district
        else {
            throw ServerError(
                status: 403, code: "not_a_payer",
                message:
                    "cannot produce a payment batch: only a department or the district pays grants, and office \(caller.office) is neither")
        }
        let district = office.level == .district
        let now = ReplicaStore.nowMillis()
        var batch: String?
        var rows: [[String: Value]]
        if let wanted {
            rows = try await storage.viewRows(PolicyRecords.grantView.name, where: "batch", in: [.text(wanted)], limit: 1_000_000)
            guard !rows.isEmpty, district || rows.allSatisfy({ $0["department"] == .text(caller.office) }) else {
                throw ServerError.notFound("cannot send the payment batch again: no batch \(wanted) of office \(caller.office)")
            }
            // Sent again only while nothing of it is paid: a second bank file of a paid
            // grant would pay it twice. Rejected grants are left out.
            if let paid = rows.first(where: { $0["payment"]?.text != nil }) {
                throw ServerError.conflict(
                    "batch_paid",
                    "cannot send the payment batch again: grant \(paid["id"]?.text ?? "") of batch \(wanted) is recorded as paid (batch)")
            }
            rows = rows.filter { $0["rejection"]?.text == nil }
            batch = wanted
        } else {
            let id = "PB-" + caller.office + "-" + ReplicaStore.newRecordID(now: now).suffix(12)
            let write = ServerWrite(
                reads: [.init(view: PolicyRecords.grantView.name, column: "stage", key: .value(.text("approved")), limit: 1_000_000)],
                author: "server"
            ) { input throws(ServerError) in
                PaymentBatch.reserve(input.rows[0], office: caller.office, district: district).map {
                    ServerWrite.Edit(RecordKey(table: "grants", id: $0), ["batch": .text(id)])
                }
            }
            let result = try await storage.write(write, now: now)
            let taken = Set(result.changes.map(\.record.id))
            rows = result.rows[0].filter { taken.contains($0["id"]?.text ?? "") }
            batch = taken.isEmpty ? nil : id
        }
        // Names and accounts by the records' derived ids (PROTOCOL §10.3), an account only
        // when it is the grant's street's: a record another office made under some other id,
        // or in another street, never names the payee.
        let codes = Set(rows.compactMap { $0["credit_code"]?.text }).compactMap { try? CreditCode($0) }
        func byID(_ view: String, _ id: (CreditCode) -> String) async throws(ServerError) -> [String: [String: Value]] {
            guard !codes.isEmpty else { return [:] }
            let found = try await storage.viewRows(view, where: "id", in: codes.map { .text(id($0)) }, limit: 1_000_000)
            return Dictionary(
                found.compactMap { row in row["credit_code"]?.text.map { ($0, row) } }, uniquingKeysWith: { first, _ in first })
        }
        let names = try await byID(PolicyRecords.enterpriseView.name, EnterpriseKey.recordID)
        let accounts = try await byID(PolicyRecords.accountView.name, EnterpriseKey.accountID)
        let lines = rows.compactMap { row -> PaymentBatchWire.Line? in
            guard let id = row["id"]?.text, let code = row["credit_code"]?.text else { return nil }
            let account = accounts[code].flatMap { $0["street"] == row["street"] ? $0 : nil }
            return PaymentBatchWire.Line(
                id: id, policy: row["policy"]?.text ?? "", creditCode: code, name: names[code]?["name"]?.text,
                bank: account?["bank"]?.text, account: account?["account"]?.text, amountFen: row["amount_fen"]?.integer ?? 0)
        }.sorted { $0.id < $1.id }
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        headers[.cacheControl] = "no-store"
        return Response(
            status: .ok, headers: headers,
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: PaymentBatchWire.encodeResponse(batch: batch, lines: lines))))
    }
}
