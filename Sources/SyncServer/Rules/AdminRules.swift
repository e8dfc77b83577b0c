import Foundation
public import SyncCore
import SyncProtocol

/// What the administration commands and the credential checks decide, pure: every
/// backend reads what they need, asks here, and writes what they allow, so that the
/// embedded and the PostgreSQL storage refuse the same things with the same words.
package enum OfficeRules {
    /// A new office's code (upper-cased: codes start every case number, `HSM-…`, and are
    /// letters and digits only) and name (trimmed, 1 to 200 bytes).
    package static func newOffice(code: String, name: String) throws(ServerError) -> (code: String, name: String) {
        guard isCode(code) else {
            throw .badRequest("invalid", "cannot add the office: a code is 1 to 12 letters or digits, e.g. HSM (code)")
        }
        let trimmed = name.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !trimmed.isEmpty, trimmed.utf8.count <= 200 else {
            throw .badRequest("invalid", "cannot add the office: a name is 1 to 200 bytes (name)")
        }
        return (code.uppercased(), trimmed)
    }

    /// Whether an office of `level` may be added under `parent`, whose level is
    /// `parentLevel` (nil: no active office of that code).
    package static func checkParent(of level: OfficeLevel, parent: String?, parentLevel: String?) throws(ServerError) {
        switch (level.parentLevel, parent) {
        case (nil, nil): return
        case (nil, .some):
            throw .badRequest("invalid", "cannot add the office: a district office has no parent (--parent)")
        case (.some(let wanted), nil):
            throw .badRequest(
                "invalid", "cannot add the office: a \(level.rawValue) office needs a parent \(wanted.rawValue) office (--parent)")
        case (.some(let wanted), .some(let parent)):
            guard let parentLevel else { throw .notFound("cannot add the office: no parent office \(parent) (--parent)") }
            guard parentLevel == wanted.rawValue else {
                throw .badRequest(
                    "invalid",
                    "cannot add the office: the parent of a \(level.rawValue) office must be a \(wanted.rawValue) office, and \(parent) is a \(parentLevel) office (--parent)"
                )
            }
        }
    }

    /// Whether `office` may move under `parent`, whose level is `parentLevel` (nil: no
    /// active office of that code).
    package static func checkMove(_ office: Office, to parent: String, parentLevel: String?) throws(ServerError) {
        guard let wanted = office.level.parentLevel else {
            throw .badRequest("invalid", "cannot move the office: the district has no parent (\(office.code))")
        }
        guard let parentLevel else { throw .notFound("cannot move the office: no active parent office \(parent) (--parent)") }
        guard parentLevel == wanted.rawValue else {
            throw .badRequest(
                "invalid",
                "cannot move the office: the parent of a \(office.level.rawValue) office must be a \(wanted.rawValue) office (--parent)")
        }
    }

    /// Whether an office with `children` active offices under it and `records` records
    /// naming it (their tables) may retire.
    package static func checkRetire(children: Int, records tables: [String]) throws(ServerError) {
        guard children == 0 else {
            throw .conflict(
                "in_use", "cannot retire the office: \(children) active office(s) are under it; move or retire them first")
        }
        guard tables.isEmpty else {
            throw .conflict(
                "in_use",
                "cannot retire the office: \(tables.count) record(s) (\(Set(tables).sorted().joined(separator: ", "))) belong to it or are handled by it; reassign them first (rain case reassign)"
            )
        }
    }

    /// Letters and digits only, 1 to 12.
    package static func isCode(_ code: String) -> Bool {
        !code.isEmpty && code.utf8.count <= 12 && code.utf8.allSatisfy(\.isASCIIAlphanumeric)
    }

    /// The records of `moves` that the tree change makes move, with their placed scopes
    /// before and after: every record whose scope names a community that changes street.
    package static func scopesMoved(
        _ records: [(key: RecordKey, scope: String)], before: [String: String], after: [String: String]
    ) -> [(key: RecordKey, old: String, new: String)] {
        records.compactMap { record in
            guard let scope = RecordScope(encoded: record.scope) else { return nil }
            return (record.key, PlacedScope(scope) { before[$0] }.encoded, PlacedScope(scope) { after[$0] }.encoded)
        }
    }
}

/// One answer for every bad enrolment token, so that a guess learns nothing.
package let invalidEnrolmentToken = ServerError.unauthenticated(
    "cannot enrol: the enrolment token is not valid (unknown, already used or expired); ask the administrator for a new one with `rain-server office token`",
    code: "invalid_token")

/// How a credential is checked against what the server keeps of its replica.
package enum CredentialRules {
    /// A replica's stored credential state.
    package struct Stored: Sendable {
        package var office: String
        package var secretDigest: String
        package var previousDigest: String?
        package var revoked: Bool
        package var supersededBy: ReplicaID?
        package var successorUsed: Bool
        package var isSuccessor: Bool
        package var used: Bool

        package init(
            office: String, secretDigest: String, previousDigest: String?, revoked: Bool, supersededBy: ReplicaID?,
            successorUsed: Bool, isSuccessor: Bool, used: Bool
        ) {
            self.office = office
            self.secretDigest = secretDigest
            self.previousDigest = previousDigest
            self.revoked = revoked
            self.supersededBy = supersededBy
            self.successorUsed = successorUsed
            self.isSuccessor = isSuccessor
            self.used = used
        }
    }

    /// What authenticating decides: the caller, and what to write first.
    package struct Decision: Sendable {
        package var caller: Caller
        /// The new credential is in use: the previous one stops working now.
        package var clearPrevious: Bool
        /// A successor's first use: it retires its predecessor's credential.
        package var firstUse: Bool
    }

    /// Splits a presented credential, or refuses it.
    package static func split(_ credential: String?) throws(ServerError) -> (id: String, secret: String) {
        guard let credential else {
            throw .unauthenticated("unauthenticated: no credential; send `Authorization: Bearer <credential>` (Authorization)")
        }
        guard let parts = Secrets.split(credential) else {
            throw .unauthenticated("unauthenticated: the credential is malformed (Authorization)")
        }
        return parts
    }

    /// Checks `secret` of replica `id` against `stored` (nil: no such replica).
    package static func authenticate(id: String, secret: String, stored: Stored?) throws(ServerError) -> Decision {
        let invalid = ServerError.unauthenticated("unauthenticated: the credential is not valid (Authorization)")
        guard let stored else { throw invalid }
        let current = Secrets.matches(secret, storedDigest: stored.secretDigest)
        let previous = stored.previousDigest.map { Secrets.matches(secret, storedDigest: $0) } ?? false
        guard current || previous else { throw invalid }
        if stored.revoked {
            throw .unauthenticated(
                "unauthenticated: this replica's credential was revoked; ask the administrator for a new enrolment token (Authorization)",
                code: "revoked")
        }
        if let successor = stored.supersededBy, stored.successorUsed {
            throw .unauthenticated(
                "unauthenticated: this replica was re-issued as \(successor) after a restore, and \(successor) has synced since; this file is an older copy — enrol it again with a new token to recover its work (Authorization)",
                code: "superseded")
        }
        return Decision(
            caller: Caller(
                replica: ReplicaID(id), office: stored.office, supersededBy: stored.supersededBy, withPreviousCredential: !current),
            clearPrevious: current && stored.previousDigest != nil, firstUse: stored.isSuccessor && !stored.used)
    }

    /// Up to which counter a restored file's changes are the server's (§9.8): the
    /// digests after `after`, compared in order with the bodies held and the digests of
    /// changes refused, up to `holds`.
    package static func same(
        after: UInt64, digests: [String], holds: UInt64, bodies: [UInt64: [UInt8]], refused: [UInt64: String?]
    ) -> UInt64 {
        var same = after
        let last = min(holds, after + UInt64(digests.count))
        guard last > after else { return same }
        for counter in (after + 1)...last {
            let digest = digests[Int(counter - after - 1)]
            if let body = bodies[counter] {
                guard SHA256Hex.digest(body) == digest else { break }
            } else if let refusedDigest = refused[counter] {
                guard refusedDigest == digest else { break }
            } else {
                break
            }
            same = counter
        }
        return same
    }
}
