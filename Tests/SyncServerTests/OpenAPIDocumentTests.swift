import Dashboard
import Foundation
import OpenAPIKit
import PolicyServer
import Residents
import Testing
import Yams

@testable import SyncServer

/// `Protocol/openapi.yaml` is a valid OpenAPI 3.1 document and describes every route
/// the server registers.
@Suite struct OpenAPIDocumentTests {
    static var documentPath: String {
        var folder = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { folder.deleteLastPathComponent() }
        return folder.appendingPathComponent("Protocol/openapi.yaml").path
    }

    func document() throws -> OpenAPI.Document {
        let text = try String(contentsOfFile: Self.documentPath, encoding: .utf8)
        return try YAMLDecoder().decode(OpenAPI.Document.self, from: text)
    }

    @Test func theDocumentIsValidOpenAPI31() throws {
        let document = try document()
        #expect(document.openAPIVersion == .v3_1_0)
        // Structural validation: references resolve, operations have responses, ids are unique.
        let warnings = try document.validate()
        #expect(warnings.isEmpty, "\(warnings)")
    }

    @Test func everyRegisteredRouteIsDescribed() throws {
        let document = try document()
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("rain-openapi-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let storage = try SQLiteCentralStorage.open(at: folder + "/central.sqlite")
        let surface = PublicSurface.combining([
            residentSurface(storage: storage, settings: ResidentSettings()),
            DashboardRoutes.surface(storage: storage, settings: DashboardSettings()),
        ])
        let office = PaymentBatchRoutes.routes()
        let router = makeSyncRouter(storage: storage, settings: ServerSettings(), surface: surface, officeRoutes: [office])
        // Hummingbird names a parameter `{id}`; the document, GeoReport's way, `{service_request_id}.json`.
        let routes = registeredRoutes(router).map { route in
            (
                method: route.method,
                path: route.path.hasSuffix("/requests/{id}")
                    ? route.path.replacingOccurrences(of: "{id}", with: "{service_request_id}.json")
                    : route.path.replacingOccurrences(of: "{id}", with: "{service_request_id}")
            )
        }
        #expect(routes.count == 29)
        for route in routes {
            let path = OpenAPI.Path(rawValue: route.path)
            guard let item = document.paths[path]?.pathItemValue else {
                Issue.record("\(route.method) \(route.path) is not in Protocol/openapi.yaml")
                continue
            }
            let method = try #require(OpenAPI.HttpMethod(rawValue: route.method), "\(route.method)")
            #expect(item[method] != nil, "\(route.method) \(route.path) is not in Protocol/openapi.yaml")
        }
        // The 405 answers name exactly the methods each path takes.
        let byPath = Dictionary(grouping: routes, by: \.path).mapValues { Set($0.map(\.method)) }
        let methods = SyncMiddleware.allowedMethods.merging(office.methods) { first, _ in first }
        let sync = byPath.filter { methods[$0.key] != nil }
        #expect(sync == methods.mapValues(Set.init))
        for (path, methods) in byPath where sync[path] == nil {
            let concrete = path.replacingOccurrences(of: "{service_request_id}", with: "HSM-20261206-1432-K7Q")
            #expect(surface.methods(concrete).map(Set.init) == methods, "\(path)")
        }
        // And nothing is described that the server does not serve.
        var described = 0
        for (_, entry) in document.paths { described += entry.pathItemValue?.endpoints.count ?? 0 }
        #expect(described == routes.count)
    }

    @Test func everyErrorResponseUsesTheErrorSchema() throws {
        let document = try document()
        for (path, entry) in document.paths {
            for endpoint in entry.pathItemValue?.endpoints ?? [] {
                for (status, response) in endpoint.operation.responses
                where status.rawValue.hasPrefix("4") || status.rawValue.hasPrefix("5") {
                    let resolved = try document.components.lookup(try #require(response.reference))
                    let content = resolved.content.first { $0.key == .json }?.value.b
                    let name = content?.schema?.reference?.name
                    // The residents' routes (and `/ideas`) answer in GeoReport's form, the pages (the
                    // residents' and the dashboard's) in HTML, the statistics API its own.
                    let expected =
                        path.rawValue.hasPrefix("/open311/") || path.rawValue == "/ideas"
                        ? "Open311Errors"
                        : path.rawValue == "/stats"
                            ? "StatsError"
                            : endpoint.operation.tags == ["residents"] || endpoint.operation.tags == ["dashboard"] ? nil : "Error"
                    #expect(name == expected, "\(endpoint.method) \(path.rawValue) \(status.rawValue)")
                    if expected == nil { #expect(resolved.content.keys.map(\.rawValue) == ["text/html"]) }
                }
            }
        }
    }
}
