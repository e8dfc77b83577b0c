public import SyncCore

/// A record kind's declaration as a JSON document (`Protocol/kinds/*.json`,
/// `Protocol/PROTOCOL.md` §10): its tables, their fields, merge rules and scope. What a
/// client written from `Protocol/` alone needs to create valid records, and what
/// `rain-server serve --kind FILE` reads to serve a kind it was not built with.
///
/// ```json
/// {"kind": "bulletins", "tables": [{"name": "bulletins", "records": "mutable",
///   "scope": {"fields": ["office"]},
///   "fields": [{"name": "office", "type": "text", "required": true, "merge": "last-writer-wins", "summary": "…"}]}]}
/// ```
///
/// `records` is `mutable` or `append-only`; `scope` is `{"fields": [names]}` — with
/// `"shared": "always"` or `"shared": {"field": f, "values": [..]}` when every office
/// also reads the record (always, or once `f` has been written one of the values) —,
/// `{"parent": {"table": t, "field": f}}` or `"district"`; `merge` is
/// `last-writer-wins`, `maximum` or `{"workflow": {"stages": [..], "round": field}}`.
/// `writers` (default `anyone`) is `server` or `{"home_except": [..]}` (PROTOCOL §9.6).
/// Every member is required but `required` (false), `writers` and `summary` (empty); an unknown
/// member is refused.
public enum KindDeclarationV1 {
    /// Why a declaration was refused: the member (a JSON path) and the reason.
    public struct Invalid: Error, Hashable, Sendable, CustomStringConvertible {
        public let path: String
        public let reason: String
        public var description: String { "invalid kind declaration: \(reason) (\(path))" }
    }

    /// Reads a declaration.
    public static func decode(_ bytes: [UInt8]) throws(Invalid) -> RecordKind {
        let root: JSONValue
        do { root = try JSONParser.parse(bytes) } catch { throw Invalid(path: "$", reason: "not JSON: \(error)") }
        let members = try object(root, "$", allowed: ["kind", "tables"])
        let name = try string(members["kind"], "$.kind")
        guard case .array(let tables)? = members["tables"], !tables.isEmpty else {
            throw Invalid(path: "$.tables", reason: "must be a non-empty array")
        }
        var seen: Set<String> = []
        var declared: [TableDeclaration] = []
        for (index, table) in tables.enumerated() {
            let declaration = try decodeTable(table, "$.tables[\(index)]")
            guard seen.insert(declaration.name).inserted else {
                throw Invalid(path: "$.tables[\(index)].name", reason: "table \(declaration.name) is declared twice")
            }
            declared.append(declaration)
        }
        return RecordKind(name: name, tables: declared)
    }

    private static func decodeTable(_ value: JSONValue, _ path: String) throws(Invalid) -> TableDeclaration {
        let members = try object(value, path, allowed: ["name", "records", "scope", "writer_levels", "fields"])
        let name = try string(members["name"], path + ".name")
        let kind: TableKind
        switch try string(members["records"], path + ".records") {
        case "mutable": kind = .mutable
        case "append-only": kind = .appendOnly
        default: throw Invalid(path: path + ".records", reason: "must be mutable or append-only")
        }
        let scope = try decodeScope(members["scope"], path + ".scope")
        guard case .array(let list)? = members["fields"] else { throw Invalid(path: path + ".fields", reason: "must be an array") }
        var fields: [FieldDeclaration] = []
        for (index, field) in list.enumerated() {
            let at = path + ".fields[\(index)]"
            let member = try object(field, at, allowed: ["name", "type", "required", "merge", "writers", "summary"])
            let fieldName = try string(member["name"], at + ".name")
            guard !fields.contains(where: { $0.name == fieldName }) else {
                throw Invalid(path: at + ".name", reason: "field \(fieldName) is declared twice")
            }
            guard let type = FieldDeclaration.ValueType(rawValue: try string(member["type"], at + ".type")) else {
                throw Invalid(path: at + ".type", reason: "must be text, integer, bool or timestamp")
            }
            var required = false
            if let flag = member["required"] {
                guard case .bool(let value) = flag else { throw Invalid(path: at + ".required", reason: "must be true or false") }
                required = value
            }
            let rule = try decodeRule(member["merge"], at + ".merge")
            var summary = ""
            if let value = member["summary"] {
                guard case .string(let text) = value else { throw Invalid(path: at + ".summary", reason: "must be a string") }
                summary = text
            }
            let writers = try decodeWriters(member["writers"], at + ".writers")
            fields.append(FieldDeclaration(fieldName, type, required: required, rule: rule, writers: writers, summary))
        }
        let names = Set(fields.map(\.name))
        for field in TableDeclaration(name, kind: kind, scope: scope, fields: []).scopeFields where !names.contains(field) {
            throw Invalid(path: path + ".scope", reason: "names field \(field), which the table does not declare")
        }
        if case .sharedFields(_, let once?) = scope, !names.contains(once.field) {
            throw Invalid(path: path + ".scope.shared.field", reason: "names field \(once.field), which the table does not declare")
        }
        var levels: [String]?
        if let value = members["writer_levels"] {
            let known: Set<String> = ["district", "street", "community", "department"]
            guard case .array(let list) = value, !list.isEmpty else {
                throw Invalid(path: path + ".writer_levels", reason: "must be a non-empty array of office levels")
            }
            var names: [String] = []
            for (index, item) in list.enumerated() {
                let level = try string(item, path + ".writer_levels[\(index)]")
                guard known.contains(level) else {
                    throw Invalid(path: path + ".writer_levels[\(index)]", reason: "must be district, street, community or department")
                }
                names.append(level)
            }
            levels = names
        }
        return TableDeclaration(name, kind: kind, scope: scope, writerLevels: levels, fields: fields)
    }

    private static func decodeScope(_ value: JSONValue?, _ path: String) throws(Invalid) -> ScopeRule {
        if case .string("district")? = value { return .district }
        guard let value else { throw Invalid(path: path, reason: "is required") }
        let members = try object(value, path, allowed: ["fields", "parent", "shared"])
        if let fields = members["fields"] {
            let alone = members.count == 1 || (members.count == 2 && members["shared"] != nil)
            guard alone, case .array(let names) = fields, !names.isEmpty else {
                throw Invalid(path: path + ".fields", reason: "must be a non-empty array of field names, alone or with \"shared\"")
            }
            var result: [String] = []
            for (index, name) in names.enumerated() { result.append(try string(name, path + ".fields[\(index)]")) }
            guard let shared = members["shared"] else { return .fields(result) }
            if case .string("always") = shared { return .sharedFields(result, once: nil) }
            let publication = try object(shared, path + ".shared", allowed: ["field", "values"])
            guard case .array(let list)? = publication["values"], !list.isEmpty else {
                throw Invalid(path: path + ".shared.values", reason: "must be a non-empty array of values")
            }
            var values: [String] = []
            for (index, value) in list.enumerated() { values.append(try string(value, path + ".shared.values[\(index)]")) }
            return .sharedFields(
                result, once: ScopeRule.Publication(field: try string(publication["field"], path + ".shared.field"), values: values))
        }
        guard let parent = members["parent"] else {
            throw Invalid(path: path, reason: "must be {\"fields\": …}, {\"parent\": …} or \"district\"")
        }
        let link = try object(parent, path + ".parent", allowed: ["table", "field"])
        return .parent(table: try string(link["table"], path + ".parent.table"), field: try string(link["field"], path + ".parent.field"))
    }

    private static func decodeWriters(_ value: JSONValue?, _ path: String) throws(Invalid) -> FieldWriters {
        switch value {
        case nil, .string("anyone")?: return .anyone
        case .string("server")?: return .server
        case .object?:
            let members = try object(value!, path, allowed: ["home_except", "district_except"])
            guard members.count == 1, let (name, member) = members.first.map({ ($0.key, $0.value) }) else {
                throw Invalid(path: path, reason: "must have exactly one of home_except or district_except")
            }
            guard case .array(let list) = member else {
                throw Invalid(path: path + "." + name, reason: "must be an array of the values other offices may write")
            }
            var values: [String] = []
            for (index, item) in list.enumerated() { values.append(try string(item, path + ".\(name)[\(index)]")) }
            return name == "home_except" ? .home(except: values) : .district(except: values)
        default:
            throw Invalid(path: path, reason: "must be anyone, server, {\"home_except\": [..]} or {\"district_except\": [..]}")
        }
    }

    private static func decodeRule(_ value: JSONValue?, _ path: String) throws(Invalid) -> FieldRule {
        switch value {
        case .string("last-writer-wins")?: return .lastWriterWins
        case .string("maximum")?: return .maximum
        case .object(let members)?:
            let members = try object(.object(members), path, allowed: ["workflow"])
            guard let workflow = members["workflow"] else { throw Invalid(path: path + ".workflow", reason: "is required") }
            let inner = try object(workflow, path + ".workflow", allowed: ["stages", "round"])
            guard case .array(let list)? = inner["stages"], !list.isEmpty else {
                throw Invalid(path: path + ".workflow.stages", reason: "must be a non-empty array of stage names")
            }
            var stages: [String] = []
            for (index, stage) in list.enumerated() { stages.append(try string(stage, path + ".workflow.stages[\(index)]")) }
            return .workflow(stages: stages, roundField: try string(inner["round"], path + ".workflow.round"))
        default:
            throw Invalid(path: path, reason: "must be last-writer-wins, maximum or {\"workflow\": …}")
        }
    }

    private static func object(_ value: JSONValue, _ path: String, allowed: Set<String>) throws(Invalid) -> [String: JSONValue] {
        guard case .object(let members) = value else { throw Invalid(path: path, reason: "must be an object, not \(value.typeName)") }
        var result: [String: JSONValue] = [:]
        for member in members {
            guard allowed.contains(member.key) else {
                throw Invalid(
                    path: path + "." + member.key, reason: "unknown member (allowed: \(allowed.sorted().joined(separator: ", ")))")
            }
            result[member.key] = member.value
        }
        return result
    }

    private static func string(_ value: JSONValue?, _ path: String) throws(Invalid) -> String {
        guard case .string(let text)? = value, !text.isEmpty else { throw Invalid(path: path, reason: "must be a non-empty string") }
        return text
    }

    // MARK: Writing

    /// The declaration as an indented JSON document, members in a fixed order (what
    /// `Protocol/kinds/*.json` holds).
    public static func encode(_ kind: RecordKind) -> String {
        var lines = ["{", "  \"kind\": \(quoted(kind.name)),", "  \"tables\": ["]
        for (tableIndex, table) in kind.tables.enumerated() {
            lines.append("    {")
            lines.append("      \"name\": \(quoted(table.name)),")
            lines.append("      \"records\": \(quoted(table.kind == .mutable ? "mutable" : "append-only")),")
            lines.append("      \"scope\": \(scope(table.scope)),")
            if let levels = table.writerLevels {
                lines.append("      \"writer_levels\": [" + levels.map(quoted).joined(separator: ", ") + "],")
            }
            lines.append("      \"fields\": [")
            for (index, field) in table.fields.enumerated() {
                var members = [
                    "\"name\": \(quoted(field.name))", "\"type\": \(quoted(field.type.rawValue))", "\"required\": \(field.required)",
                    "\"merge\": \(rule(field.rule))",
                ]
                switch field.writers {
                case .anyone: break
                case .server: members.append("\"writers\": \"server\"")
                case .home(let except):
                    members.append("\"writers\": {\"home_except\": [" + except.map(quoted).joined(separator: ", ") + "]}")
                case .district(let except):
                    members.append("\"writers\": {\"district_except\": [" + except.map(quoted).joined(separator: ", ") + "]}")
                }
                members.append("\"summary\": \(quoted(field.summary))")
                lines.append("        {" + members.joined(separator: ", ") + "}" + (index + 1 < table.fields.count ? "," : ""))
            }
            lines.append("      ]")
            lines.append("    }" + (tableIndex + 1 < kind.tables.count ? "," : ""))
        }
        lines += ["  ]", "}"]
        return lines.joined(separator: "\n") + "\n"
    }

    private static func scope(_ rule: ScopeRule) -> String {
        switch rule {
        case .fields(let names): "{\"fields\": [" + names.map(quoted).joined(separator: ", ") + "]}"
        case .parent(let table, let field): "{\"parent\": {\"table\": \(quoted(table)), \"field\": \(quoted(field))}}"
        case .district: "\"district\""
        case .sharedFields(let names, let once):
            "{\"fields\": [" + names.map(quoted).joined(separator: ", ") + "], \"shared\": "
                + (once.map { "{\"field\": \(quoted($0.field)), \"values\": [" + $0.values.map(quoted).joined(separator: ", ") + "]}" }
                    ?? "\"always\"") + "}"
        }
    }

    private static func rule(_ rule: FieldRule) -> String {
        switch rule {
        case .lastWriterWins: "\"last-writer-wins\""
        case .maximum: "\"maximum\""
        case .workflow(let stages, let round):
            "{\"workflow\": {\"stages\": [" + stages.map(quoted).joined(separator: ", ") + "], \"round\": \(quoted(round))}}"
        }
    }

    private static func quoted(_ text: String) -> String {
        var writer = CanonicalJSONWriter()
        writer.string(text)
        return String(decoding: writer.bytes, as: UTF8.self)
    }
}
