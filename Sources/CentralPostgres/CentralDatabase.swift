public import Logging
public import SyncCore
public import SyncServer

/// Opens the central storage a database argument names (`rain-server --db`): SQLite for
/// a path, PostgreSQL for a `postgres://` URL.
public enum CentralDatabase {
    /// Opens (creating or migrating) the database at `location` for an administration
    /// command or a tool; the caller closes it.
    public static func open(_ location: DatabaseLocation, kinds: [RecordKind], logger: Logger) async throws(ServerError)
        -> any CentralStorage
    {
        switch location {
        case .sqlite(let path): try SQLiteCentralStorage.open(at: path, kinds: kinds)
        case .postgres(let postgres): try await PostgresCentralStorage.open(postgres, kinds: kinds, logger: logger)
        }
    }

    /// Opens `body`'s storage, runs it, and closes the storage whatever happens.
    public static func with<T>(
        _ location: DatabaseLocation, kinds: [RecordKind], logger: Logger, _ body: (any CentralStorage) async throws -> T
    ) async throws -> T {
        let storage = try await open(location, kinds: kinds, logger: logger)
        do {
            let result = try await body(storage)
            await storage.close()
            return result
        } catch {
            await storage.close()
            throw error
        }
    }
}
