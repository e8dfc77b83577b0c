public import ReplicaStore
public import SyncProtocol

/// A replica's standing with its server: enrolment with a one-time token, and rotation of
/// its credential (`Protocol/PROTOCOL.md` §9.2–9.3). What `rain init --server`, `rain enrol`
/// and `rain rekey` do, without their output.
public enum Enrolment {
    /// The token is for another office than the replica's: nothing was saved.
    public struct WrongOffice: Error, Sendable, Hashable {
        /// The token's office.
        public let token: String
        /// The replica's office.
        public let replica: String
    }

    /// Exchanges `token` for this replica's credential and keeps it, with the server's
    /// address and how to reach it, in the replica file.
    ///
    /// - Throws: ``SyncClientError`` when the server refuses or cannot be reached,
    ///   ``WrongOffice`` when the token is another office's, ``ReplicaStoreError``.
    public static func enrol(_ store: ReplicaStore, server: String, token: String, caCertificates: String?, insecure: Bool)
        async throws -> EnrolResponseV1
    {
        let transport = try HTTPTransport(server: server, credential: nil, caCertificates: caCertificates, insecure: insecure)
        let answer: EnrolResponseV1
        do {
            answer = try await transport.enrol(EnrolRequestV1(token: token, replica: store.identity.replica, staff: store.identity.staff))
            await transport.shutdown()
        } catch {
            await transport.shutdown()
            throw error
        }
        guard answer.office == store.identity.office, answer.replica == store.identity.replica else {
            throw WrongOffice(token: answer.office, replica: store.identity.office)
        }
        try store.saveEnrolment(
            server: transport.server, credential: answer.credential, officeName: answer.officeName, officeLevel: answer.level,
            caCertificates: caCertificates, insecure: insecure)
        return answer
    }

    /// This replica is not enrolled: there is no credential to use or rotate.
    public struct NotEnrolled: Error, Sendable, Hashable {}

    /// Rotates the replica's credential: the server issues a new one, kept in the replica
    /// file, then used once at once so that the old one stops working.
    ///
    /// - Throws: ``NotEnrolled``, ``SyncClientError``, ``ReplicaStoreError``.
    public static func rekey(_ store: ReplicaStore) async throws {
        let state = try store.syncState()
        guard let server = state.server, let credential = state.credential else { throw NotEnrolled() }
        let transport = try HTTPTransport(
            server: server, credential: credential, caCertificates: state.caCertificates, insecure: state.insecure)
        let answer: RekeyResponseV1
        do {
            answer = try await transport.rekey()
            await transport.shutdown()
        } catch {
            await transport.shutdown()
            throw error
        }
        try store.saveCredential(answer.credential)
        let check = try HTTPTransport(
            server: server, credential: answer.credential, caCertificates: state.caCertificates, insecure: state.insecure)
        _ = try? await check.pull(after: "", limit: 1, maximumBytes: 1)
        await check.shutdown()
    }

    /// A sync driver for an enrolled replica, reaching its server as enrolment saved.
    ///
    /// - Throws: ``NotEnrolled``, ``SyncClientError``, ``ReplicaStoreError``.
    public static func driver(for store: ReplicaStore) throws -> SyncDriver {
        let state = try store.syncState()
        guard let server = state.server, let credential = state.credential else { throw NotEnrolled() }
        return SyncDriver(
            store: store,
            transport: try HTTPTransport(
                server: server, credential: credential, caCertificates: state.caCertificates, insecure: state.insecure))
    }
}
