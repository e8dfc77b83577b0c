public import SyncCore

/// The first record kind: cases, their events and the audit of reveals — tables, fields,
/// merge rules and scope, declared once (DESIGN §8). `Protocol/kinds/cases.md` describes
/// the same; a test compares the two.
public enum CaseRecords {
    /// The tables of the `cases` kind.
    public static let kind = RecordKind(
        name: "cases",
        tables: [
            TableDeclaration(
                "cases", kind: .mutable, scope: .fields(["community", "office"]),
                fields: [
                    FieldDeclaration(
                        "number", .text, required: true,
                        "the case number minted offline: office, local date and minute, the replica's tag (`HSM-20261126-1432-K7Q`)"),
                    FieldDeclaration("kind", .text, required: true, "complaint, consultation, help or suggestion"),
                    FieldDeclaration("category", .text, required: true, "one of the district's categories"),
                    FieldDeclaration("title", .text, required: true, "what the case is about (≤ 600 bytes)"),
                    FieldDeclaration("description", .text, "details (personal data)"),
                    FieldDeclaration("citizen_name", .text, "the resident's name (personal data)"),
                    FieldDeclaration("phone", .text, "the resident's mainland mobile number (personal data)"),
                    FieldDeclaration("address", .text, "where (personal data)"),
                    FieldDeclaration(
                        "status", .text, required: true, rule: .workflow(stages: Schema.caseStages, roundField: "round"),
                        "received, verifying, handling, replied or closed"),
                    FieldDeclaration(
                        "round", .integer, required: true, rule: .maximum, "the workflow round: 1, and one more per reopening"),
                    FieldDeclaration("level", .text, required: true, "community, street or district: who handles it"),
                    FieldDeclaration("office", .text, required: true, "the handling office's code (scope)"),
                    FieldDeclaration("community", .text, required: true, "the community office the case belongs to (scope, its home)"),
                    FieldDeclaration("answer", .text, "the reply to the resident"),
                    FieldDeclaration("rating", .integer, "the resident's rating, 1 to 5"),
                    FieldDeclaration("created_at", .timestamp, required: true, "when it was received"),
                    FieldDeclaration("closed_at", .timestamp, "when it was closed"),
                    FieldDeclaration(
                        "source", .text,
                        "how it came: online (a resident's own submission, written by the server), enterprise (an enterprise's problem or suggestion, 企业诉求) or counter (recorded by staff; also when absent)"
                    ),
                    FieldDeclaration(
                        "credit_code", .text, "the enterprise raising it: its unified social credit code in the registry (policy direct)"),
                ]),
            TableDeclaration(
                "case_events", kind: .appendOnly, scope: .parent(table: "cases", field: "case_id"),
                fields: [
                    FieldDeclaration("case_id", .text, required: true, "the case's record id (scope)"),
                    FieldDeclaration(
                        "type", .text, required: true,
                        "note, visit, verify, handle, reply, close, escalate, reopen, rating or reassign"),
                    FieldDeclaration("text", .text, "what was noted or replied"),
                    FieldDeclaration("score", .integer, "a rating's score, 1 to 5"),
                    FieldDeclaration("at", .timestamp, required: true, "when"),
                ]),
            TableDeclaration(
                "audit_events", kind: .appendOnly, scope: .parent(table: "cases", field: "case_id"),
                fields: [
                    FieldDeclaration("case_id", .text, required: true, "the case whose personal data was shown (scope)"),
                    FieldDeclaration("action", .text, required: true, "reveal"),
                    FieldDeclaration("command", .text, required: true, "the command that showed it"),
                    FieldDeclaration("at", .timestamp, required: true, "when"),
                ]),
        ],
        views: [caseView, eventView])

    /// What the central server keeps of each case for residents and statistics: no name,
    /// phone, address, description or note — only the phone's last four digits, which a
    /// resident gives to prove a request is theirs.
    public static let caseView = ViewDeclaration(
        "case_view", of: "cases", version: 2,
        columns: [
            .init("number", .text), .init("kind", .text), .init("category", .text), .init("status", .text), .init("round", .integer),
            .init("level", .text), .init("office", .text), .init("community", .text), .init("answer", .text),
            .init("rating", .integer), .init("created_at", .timestamp), .init("closed_at", .timestamp), .init("source", .text),
            .init("phone_tail", field: "phone", .text, .lastFourDigits),
        ],
        // Version 2: the dashboard's tallies catch up with the rows written since they last
        // looked (`updated_at`) and recount a community's days (`community, created_at`); its
        // action list counts and orders the open cases by kind and day received from the
        // index alone (`status, kind, created_at, community`).
        indexes: [
            ["number"], ["community", "status"], ["updated_at"], ["community", "created_at"],
            ["status", "kind", "created_at", "community"],
        ])

    /// A case's events as the server keeps them: what happened when (never the text).
    public static let eventView = ViewDeclaration(
        "case_event_view", of: "case_events", version: 2,
        columns: [.init("case_id", .text), .init("type", .text), .init("score", .integer), .init("at", .timestamp)],
        // Version 2: the events written since the dashboard's tallies last looked.
        indexes: [["case_id"], ["updated_at"]])
}
