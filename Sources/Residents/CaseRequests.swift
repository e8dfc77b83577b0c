public import CaseDomain
import Crypto
import Foundation
import SyncCore
public import SyncServer
import Synchronization

/// The residents' side of cases (DESIGN §8), shared by the Open311 API and the mobile page:
/// the services offered, a submission (a new case the server writes as itself), a status
/// answered from the read model, and a rating or a message (the server's writes too).
/// Knows no HTTP.
public struct CaseRequests: Sendable {
    let storage: any CentralStorage
    let settings: ResidentSettings
    let deadlines = DeadlinePolicy()
    private let offices = OfficeCache()

    /// The author staff see on a resident's own changes.
    public static let author = "居民（网上）"

    public init(storage: any CentralStorage, settings: ResidentSettings) {
        self.storage = storage
        self.settings = settings
    }

    // MARK: Services

    /// One service per kind and category.
    public struct Service: Sendable, Equatable {
        public var code: String
        public var kind: CaseKind
        public var category: String

        public func name(_ language: Language) -> String { kind.label(language) + " · " + category }
    }

    public static let services: [Service] = CaseKind.allCases.flatMap { kind in
        CategoryList.defaults.enumerated().map { index, category in
            Service(code: "\(kind.rawValue)-\(index + 1)", kind: kind, category: category)
        }
    }

    public static func service(_ code: String) -> Service? { services.first { $0.code == code } }

    /// The communities a resident may send a request to (active community offices), by code.
    public func communities(fresh: Bool = false) async throws -> [Office] {
        try await offices.all(storage, fresh: fresh).filter { $0.level == .community && $0.retiredAt == nil }
    }

    /// An office's name, by code.
    func officeName(_ code: String) async throws -> String? {
        if let office = try await offices.all(storage).first(where: { $0.code == code }) { return office.name }
        return try await offices.all(storage, fresh: true).first { $0.code == code }?.name
    }

    // MARK: Submitting

    /// What a resident sends (Open311's fields; the page sends the same).
    public struct Submission: Sendable {
        public var community: String?
        public var serviceCode: String?
        public var description: String?
        public var address: String?
        public var latitude: String?
        public var longitude: String?
        public var firstName: String?
        public var lastName: String?
        public var phone: String?
        public var email: String?

        public init() {}
    }

    static let maximumDescription = 2000
    static let maximumShort = 200

    /// Records a submission as a new case of the community it names; answers its number.
    public func submit(_ submission: Submission, now: Int64) async throws -> String {
        try Self.checkLengths(submission)
        guard let community = trimmed(submission.community) else {
            throw ResidentError.invalid(zh: "请选择社区（jurisdiction_id）", en: "jurisdiction_id is required: the community's code")
        }
        var known = try await communities().contains { $0.code == community }
        if !known { known = try await communities(fresh: true).contains { $0.code == community } }
        guard known else {
            throw ResidentError(404, zh: "没有这个社区（jurisdiction_id）", en: "jurisdiction_id names no community of this district")
        }
        guard let code = trimmed(submission.serviceCode) else {
            throw ResidentError.invalid(zh: "请选择类别（service_code）", en: "service_code is required (see services.json)")
        }
        guard let service = Self.service(code) else {
            throw ResidentError.invalid(zh: "没有这个类别（service_code）", en: "service_code names no service (see services.json)")
        }
        guard let description = trimmed(submission.description) else {
            throw ResidentError.invalid(zh: "请填写诉求内容（description）", en: "description is required")
        }
        var address = trimmed(submission.address)
        let latitude = trimmed(submission.latitude)
        let longitude = trimmed(submission.longitude)
        if latitude != nil || longitude != nil {
            guard let lat = latitude.flatMap(Double.init), let long = longitude.flatMap(Double.init), (-90...90).contains(lat),
                (-180...180).contains(long)
            else {
                throw ResidentError.invalid(
                    zh: "位置需要有效的纬度和经度（lat、long）", en: "lat and long must both be given, as degrees (-90…90, -180…180)")
            }
            if address == nil { address = "\(latitude ?? ""),\(longitude ?? "")" }
        }
        guard address != nil else {
            throw ResidentError.invalid(zh: "请填写地址（address_string）", en: "a location is required: address_string, or lat and long")
        }
        guard let phoneText = trimmed(submission.phone) else {
            throw ResidentError.invalid(zh: "请填写手机号（phone）", en: "phone is required: a mainland mobile number")
        }
        guard let phone = try? PhoneNumber.normalize(phoneText), phone.count == 11, phone.hasPrefix("1") else {
            throw ResidentError.invalid(zh: "手机号应为 11 位大陆手机号（phone）", en: "phone is not a mainland mobile number (11 digits, 1[3-9]…)")
        }
        let name = [trimmed(submission.lastName), trimmed(submission.firstName)].compactMap { $0 }.joined()
        if let email = trimmed(submission.email) {
            // Not kept (cases have no e-mail field): checked so a typo is not silently lost.
            guard email.unicodeScalars.count <= 254, email.contains("@") else {
                throw ResidentError.invalid(zh: "电子邮箱格式不对（email）", en: "email is not an e-mail address")
            }
        }
        let id = Self.newRecordID(now: now)
        let title = Self.title(of: description)
        var fields: [String: Value] = [
            "kind": .text(service.kind.rawValue), "category": .text(service.category), "title": .text(title),
            "description": .text(description), "phone": .text(phone), "address": .text(address ?? ""),
            "status": .text(CaseStatus.received.rawValue), "round": .integer(1), "level": .text(HandlingLevel.community.rawValue),
            "office": .text(community), "community": .text(community), "created_at": .timestamp(now), "source": .text("online"),
        ]
        if !name.isEmpty { fields["citizen_name"] = .text(name) }
        let day = CivilDate(epochMillis: now).description
        let allowance = ServerWrite.Allowance(key: Self.digest("submissions:" + phone), day: day, limit: settings.submissionsPerPhonePerDay)
        let written = fields
        let write = ServerWrite(mint: community, allowance: allowance, author: Self.author) { input throws(ServerError) in
            guard let number = input.number else { throw ServerError(status: 500, code: "internal", message: "no number minted") }
            var withNumber = written
            withNumber["number"] = .text(number)
            return [ServerWrite.Edit(RecordKey(table: "cases", id: id), withNumber)]
        }
        let result: ServerWrite.Result
        do {
            result = try await storage.write(write, now: now)
        } catch {
            guard error.status == 429 else { throw error }
            throw ResidentError(
                429, zh: "这个手机号今天已提交 \(settings.submissionsPerPhonePerDay) 件诉求，请明天再提交",
                en: "this phone number already sent \(settings.submissionsPerPhonePerDay) requests today; try again tomorrow",
                retryAfter: Self.secondsToMidnight(now))
        }
        return result.number ?? ""
    }

    /// A title from the description: its first line, at most 40 characters.
    static func title(of description: String) -> String {
        let line = description.split(whereSeparator: \.isNewline).first.map(String.init) ?? description
        return line.count > 40 ? String(line.prefix(40)) + "…" : line
    }

    /// The documented limits, checked on the values as sent (before trimming), as the
    /// document's maxLength states them.
    static func checkLengths(_ submission: Submission) throws {
        let limits: [(String?, Int, String, String)] = [
            (submission.community, 100, "社区代码", "jurisdiction_id"),
            (submission.description, maximumDescription, "诉求内容", "description"),
            (submission.address, maximumShort, "地址", "address_string"),
            (submission.lastName, 50, "姓名", "last_name"), (submission.firstName, 50, "姓名", "first_name"),
            (submission.phone, 20, "手机号", "phone"), (submission.email, 254, "电子邮箱", "email"),
        ]
        for (text, limit, zh, en) in limits {
            if let text { try check(text, limit: limit, zh: zh, en: en) }
        }
    }

    static func check(_ text: String, limit: Int, zh: String, en: String) throws {
        // Counted in code points, as the document's maxLength (JSON Schema) counts:
        // grapheme clusters would let combining marks through far past the limit.
        if text.unicodeScalars.count > limit {
            throw ResidentError.invalid(zh: "\(zh)太长（最多 \(limit) 字）", en: "\(en) is too long (at most \(limit) characters)")
        }
    }

    func trimmed(_ text: String?) -> String? {
        guard let text = text?.trimmingCharacters(in: .whitespacesAndNewlines), !text.isEmpty else { return nil }
        return text
    }

    static func digest(_ text: String) -> String {
        SHA256.hash(data: Array(text.utf8)).map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
    }

    static func secondsToMidnight(_ now: Int64) -> Int {
        let local = now + 8 * 3_600_000
        return Int((86_400_000 - ((local % 86_400_000) + 86_400_000) % 86_400_000) / 1000) + 1
    }

    /// A UUIDv7 (time-ordered, like the ids replicas mint offline).
    static func newRecordID(now: Int64) -> String {
        var bytes = (0..<16).map { _ in UInt8.random(in: 0...255) }
        let millis = UInt64(max(now, 0))
        for index in 0..<6 { bytes[index] = UInt8(truncatingIfNeeded: millis >> (8 * (5 - UInt64(index)))) }
        bytes[6] = 0x70 | (bytes[6] & 0x0F)
        bytes[8] = 0x80 | (bytes[8] & 0x3F)
        let hex = Array(bytes.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined())
        return [0..<8, 8..<12, 12..<16, 16..<20, 20..<32].map { String(hex[$0]) }.joined(separator: "-")
    }
}

/// The office list, read at most every ten seconds (a submission and a status name offices).
final class OfficeCache: Sendable {
    private let cached = Mutex<(at: ContinuousClock.Instant, offices: [Office])?>(nil)

    func all(_ storage: any CentralStorage, fresh: Bool = false) async throws -> [Office] {
        if !fresh, let hit = cached.withLock({ $0 }), ContinuousClock.now - hit.at < .seconds(10) { return hit.offices }
        let offices = try await storage.offices()
        cached.withLock { $0 = (ContinuousClock.now, offices) }
        return offices
    }
}
