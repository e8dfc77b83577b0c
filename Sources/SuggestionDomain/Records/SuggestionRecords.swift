public import SyncCore

/// The suggestions kind (建言献策): campaigns, each suggestion's pipeline, its steps and
/// reviews, and the links staff make between duplicate cases — tables, fields, merge rules
/// and scope, declared once (DESIGN §8). `Protocol/kinds/suggestions.json` holds the same;
/// a test compares the two.
///
/// A suggestion is a case of kind `suggestion` (the resident's name, phone, address and
/// words stay in the case); its pipeline record has the case's record id. Scopes: a
/// suggestion is its community's and, once sent to argument, the arguing department's; a
/// campaign is readable by every office; a link belongs to both cases' communities. Only
/// the district decides from `not_selected` on: selects, rejects, publishes, rewards, records
/// adoption and implementation (field writers `district_except`).
public enum SuggestionRecords {
    /// A suggestion's stages, in workflow order.
    public static let stages = Schema.suggestionStages

    /// The stages other offices than the district may write: recording, grouping, sending
    /// to argument. Every later stage is a decision the suggester is told of: the district's.
    public static let openStages = ["submitted", "grouped", "arguing"]

    /// The tables of the `suggestions` kind.
    public static let kind = RecordKind(
        name: "suggestions",
        tables: [
            TableDeclaration(
                "campaigns", kind: .mutable, scope: .sharedFields(["owner"], once: nil), writerLevels: ["district", "street"],
                fields: [
                    FieldDeclaration("code", .text, required: true, "the campaign's code (its id is derived from it)"),
                    FieldDeclaration("theme", .text, required: true, "the theme (我为雨花献一策)"),
                    FieldDeclaration("starts", .text, required: true, "first day, YYYY-MM-DD"),
                    FieldDeclaration("ends", .text, required: true, "last day, YYYY-MM-DD"),
                    FieldDeclaration("offices", .text, "the offices collecting, codes separated by `;` (absent: every office)"),
                    FieldDeclaration("owner", .text, required: true, "the office running it (scope, its home; every office reads it)"),
                    FieldDeclaration(
                        "status", .text, required: true, rule: .workflow(stages: Schema.campaignStages, roundField: "round"),
                        "open or closed"),
                    FieldDeclaration("round", .integer, rule: .maximum, "the workflow round (always 1)"),
                    FieldDeclaration("created_at", .timestamp, required: true, "when it was set up"),
                    FieldDeclaration("closed_at", .timestamp, "when it was closed"),
                ]),
            TableDeclaration(
                "suggestions", kind: .mutable, scope: .fields(["community", "department"]),
                fields: [
                    FieldDeclaration("number", .text, required: true, "the case's number (the suggestion's record id is the case's)"),
                    FieldDeclaration("community", .text, required: true, "the case's community (scope, its home)"),
                    FieldDeclaration("department", .text, "the department arguing it (scope: it reads the suggestion from then on)"),
                    FieldDeclaration("title", .text, required: true, "what is suggested (the case's title)"),
                    FieldDeclaration("text", .text, "the suggestion's words (the case's description; may hold personal data)"),
                    FieldDeclaration("category", .text, required: true, "the case's category"),
                    FieldDeclaration("theme", .text, "the theme it was grouped under"),
                    FieldDeclaration("group_key", .text, "the number of the suggestion leading its group"),
                    FieldDeclaration("campaign", .text, "the code of the campaign it belongs to"),
                    FieldDeclaration("source", .text, "counter, online or enterprise (the case's)"),
                    FieldDeclaration(
                        "stage", .text, required: true, rule: .workflow(stages: stages, roundField: "round"),
                        writers: .district(except: openStages),
                        "submitted, grouped, arguing, not_selected, selected, published, rewarded, adopted or implemented; from not_selected on, the district's"
                    ),
                    FieldDeclaration("round", .integer, rule: .maximum, "the workflow round (always 1)"),
                    FieldDeclaration(
                        "decision_reason", .text, writers: .district(except: []),
                        "why it was not selected (told to the suggester), or the selection's note"),
                    FieldDeclaration(
                        "public_title", .text, writers: .district(except: []), "the published title (no personal data; checked)"),
                    FieldDeclaration(
                        "public_text", .text, writers: .district(except: []), "the published text (no personal data; checked)"),
                    FieldDeclaration("published_at", .timestamp, writers: .district(except: []), "when it was published (公示)"),
                    FieldDeclaration("reward_kind", .text, writers: .district(except: []), "certificate, money or other"),
                    FieldDeclaration("reward_fen", .integer, writers: .district(except: []), "a money reward, fen"),
                    FieldDeclaration("reward_note", .text, writers: .district(except: []), "what the reward is"),
                    FieldDeclaration(
                        "rejected_at", .timestamp, writers: .district(except: []),
                        "when it was not selected: set, it is never listed publicly (a selection made concurrently must be settled first)"),
                    FieldDeclaration("implemented_by", .text, writers: .district(except: []), "the office that implemented it"),
                    FieldDeclaration("implemented_on", .text, writers: .district(except: []), "when it was implemented, YYYY-MM-DD"),
                    FieldDeclaration("created_at", .timestamp, required: true, "when the suggestion was received (the case's)"),
                ]),
            TableDeclaration(
                "suggestion_steps", kind: .appendOnly, scope: .parent(table: "suggestions", field: "suggestion_id"),
                fields: [
                    FieldDeclaration("suggestion_id", .text, required: true, "the suggestion's record id (scope)"),
                    FieldDeclaration(
                        "type", .text, required: true, writers: .district(except: ["grouped", "arguing"]),
                        "the stage entered (grouped … implemented): what the suggester hears; from not_selected on, the district's"),
                    FieldDeclaration("text", .text, "a reason or note for the step"),
                    FieldDeclaration("at", .timestamp, required: true, "when"),
                ]),
            TableDeclaration(
                "suggestion_reviews", kind: .appendOnly, scope: .parent(table: "suggestions", field: "suggestion_id"),
                fields: [
                    FieldDeclaration("suggestion_id", .text, required: true, "the suggestion's record id (scope)"),
                    FieldDeclaration("office", .text, required: true, "the reviewing office's code"),
                    FieldDeclaration("value", .integer, required: true, "value, 1 (little) to 5 (great)"),
                    FieldDeclaration("feasibility", .integer, required: true, "feasibility, 1 (hard) to 5 (easy)"),
                    FieldDeclaration("cost", .integer, required: true, "cost, 1 (costly) to 5 (cheap)"),
                    FieldDeclaration("text", .text, required: true, "the opinion (论证意见)"),
                    FieldDeclaration("at", .timestamp, required: true, "when"),
                ]),
            TableDeclaration(
                "case_links", kind: .mutable, scope: .fields(["community_a", "community_b"]),
                fields: [
                    FieldDeclaration("case_a", .text, required: true, "one case's record id (the smaller)"),
                    FieldDeclaration("case_b", .text, required: true, "the other case's record id"),
                    FieldDeclaration("number_a", .text, required: true, "case_a's number"),
                    FieldDeclaration("number_b", .text, required: true, "case_b's number"),
                    FieldDeclaration("community_a", .text, required: true, "case_a's community (scope, its home)"),
                    FieldDeclaration("community_b", .text, required: true, "case_b's community (scope)"),
                    FieldDeclaration("reasons", .text, "the likeness reasons seen when linking, separated by `;`"),
                    FieldDeclaration("state", .text, required: true, "linked or unlinked"),
                    FieldDeclaration("at", .timestamp, required: true, "when it was last linked or unlinked"),
                ]),
        ],
        views: [suggestionView, stepView])

    /// What the central server keeps of each suggestion: what its suggester is told and
    /// what is published — never its words, the resident or the reviews.
    public static let suggestionView = ViewDeclaration(
        "suggestion_view", of: "suggestions", version: 2,
        columns: [
            .init("number", .text), .init("community", .text), .init("category", .text), .init("theme", .text),
            .init("campaign", .text), .init("stage", .text), .init("decision_reason", .text), .init("public_title", .text),
            .init("public_text", .text), .init("published_at", .timestamp), .init("rejected_at", .timestamp), .init("reward_kind", .text),
            .init("reward_fen", .integer), .init("reward_note", .text), .init("implemented_by", .text),
            .init("implemented_on", .text), .init("created_at", .timestamp),
        ],
        // Version 2: the dashboard's tallies catch up with stages written since they looked.
        indexes: [["number"], ["stage"], ["updated_at"]])

    /// A suggestion's steps as the server keeps them: which, and when (never the text).
    public static let stepView = ViewDeclaration(
        "suggestion_step_view", of: "suggestion_steps", version: 1,
        columns: [.init("suggestion_id", .text), .init("type", .text), .init("at", .timestamp)], indexes: [["suggestion_id"]])
}
