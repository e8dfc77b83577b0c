import CaseDomain
import DistrictStats
import PolicyDomain
import SyncServer

/// The dashboard's HTML: no script, inline SVG charts, a print style; Chinese by default,
/// English with `lang=en`.
enum DashboardPage {
    static let style = """
        body{font-family:"WenQuanYi Micro Hei","Noto Sans CJK SC",sans-serif;margin:0;color:#222;background:#f6f7f9}
        header{background:#1d4e89;color:#fff;padding:10px 16px;display:flex;flex-wrap:wrap;gap:12px;align-items:center}
        header a{color:#fff}header button{color:#fff;background:transparent;border:1px solid #fff;border-radius:4px;cursor:pointer}header h1{font-size:20px;margin:0 12px 0 0}
        main{padding:12px 16px;max-width:1200px;margin:auto}
        section{background:#fff;border:1px solid #dde;border-radius:6px;margin:12px 0;padding:10px 14px}
        h2{font-size:16px;margin:4px 0 10px}
        .cards{display:flex;flex-wrap:wrap;gap:10px}
        .card{border:1px solid #dde;border-radius:6px;padding:8px 12px;min-width:120px;background:#fbfcff}
        .card .value{font-size:22px;font-weight:bold}.card .label{font-size:12px;color:#555}
        .card a{text-decoration:none;color:inherit}
        table{border-collapse:collapse;width:100%;font-size:13px}th,td{border-bottom:1px solid #eee;padding:4px 6px;text-align:left}
        td.n{text-align:right}.exports{font-size:12px;color:#555}.charts{display:grid;grid-template-columns:1fr 1fr;gap:12px}
        form.inline{display:inline}.error{color:#a00}.muted{color:#777;font-size:12px}
        @media (max-width:800px){.charts{grid-template-columns:1fr}}
        @media print{header a,.exports,form,form.inline{display:none !important}body{background:#fff}section{break-inside:avoid;border:none}}
        """

    static func layout(_ title: String, _ body: String, scope: DashboardScope?, language: Language, path: String) -> String {
        var head = "<header><h1>\(HTML.escape(title))</h1>"
        if let scope {
            head +=
                "<span>\(HTML.escape(scope.session.staff)) · \(HTML.escape(scope.tree.name(scope.session.office)))</span>"
                + "<a href=\"/dashboard?\(HTML.escape(scope.query()))\">\(scope.text("概览", "Overview"))</a>"
                + "<form class=\"inline\" method=\"post\" action=\"/dashboard/signout\"><input type=\"hidden\" name=\"csrf\" value=\"\(HTML.escape(scope.session.csrf ?? ""))\"><button type=\"submit\">\(scope.text("退出", "Sign out"))</button></form>"
        }
        let other = language == .zh ? "en" : "zh"
        let separator = path.contains("?") ? "&" : "?"
        let switched = path.replacing("&lang=en", with: "").replacing("?lang=en", with: "?") + separator + "lang=" + other
        head += "<a href=\"\(HTML.escape(switched))\">\(language == .zh ? "English" : "中文")</a></header>"
        return """
            <!DOCTYPE html><html lang="\(language == .zh ? "zh-CN" : "en")"><head><meta charset="utf-8">\
            <meta name="viewport" content="width=device-width, initial-scale=1"><title>\(HTML.escape(title))</title>\
            <style>\(style)</style></head><body>\(head)<main>\(body)</main></body></html>
            """
    }

    static func signIn(csrf: String, error: String?, language: Language) -> String {
        let t = { (zh: String, en: String) in language == .zh ? zh : en }
        let body = """
            <section><h2>\(t("工作人员登录", "Staff sign-in"))</h2>\
            \(error.map { "<p class=\"error\" id=\"error\">\(HTML.escape($0))</p>" } ?? "")\
            <form method="post" action="/dashboard/signin\(language == .en ? "?lang=en" : "")">\
            <input type="hidden" name="csrf" value="\(HTML.escape(csrf))">\
            <p><label>\(t("用户名", "Name")) <input name="name" id="name" autocomplete="username" required></label></p>\
            <p><label>\(t("密码", "Password")) <input name="password" id="password" type="password" autocomplete="current-password" required></label></p>\
            <p><button type="submit" id="signin">\(t("登录", "Sign in"))</button></p></form></section>
            """
        return layout(t("区级数据看板", "District dashboard"), body, scope: nil, language: language, path: "/dashboard/signin")
    }

    static func message(_ title: String, _ text: String, scope: DashboardScope?, language: Language) -> String {
        layout(
            title, "<section><p class=\"error\">\(HTML.escape(text))</p></section>", scope: scope, language: language, path: "/dashboard")
    }

    /// A table with its export links.
    /// `total`: the rows the list has when `table` holds only its first ones.
    static func table(_ table: StatsTable, scope: DashboardScope, exportQuery: String? = nil, limit: Int? = nil, total: Int? = nil)
        -> String
    {
        let query = exportQuery ?? scope.query()
        var html = "<section id=\"\(table.name)\"><h2>\(HTML.escape(scope.text(table.title.zh, table.title.en)))</h2>"
        html +=
            "<p class=\"exports\">\(scope.text("导出", "Export")): <a href=\"/dashboard/export/\(table.name).csv?\(HTML.escape(query))\">CSV</a> · <a href=\"/dashboard/export/\(table.name).json?\(HTML.escape(query))\">JSON</a></p>"
        html += "<table><thead><tr>"
        for column in table.columns { html += "<th>\(HTML.escape(scope.text(column.zh, column.en)))</th>" }
        html += "</tr></thead><tbody>"
        let rows = limit.map { Array(table.rows.prefix($0)) } ?? table.rows
        for row in rows {
            html += "<tr>"
            for cell in row {
                let numeric: Bool
                if case .text = cell.value { numeric = false } else { numeric = true }
                let shown = HTML.escape(cell.shown)
                let content = cell.link.map { "<a href=\"\(HTML.escape($0))\">\(shown)</a>" } ?? shown
                html += numeric ? "<td class=\"n\">\(content)</td>" : "<td>\(content)</td>"
            }
            html += "</tr>"
        }
        html += "</tbody></table>"
        if let total, total > table.rows.count {
            html +=
                "<p class=\"muted\" id=\"\(table.name)-total\">\(scope.text("共 \(total) 件，显示最紧迫的 \(table.rows.count) 件；完整清单请导出。", "\(total) cases, the \(table.rows.count) most urgent shown; export for all."))</p>"
        }
        if let limit, table.rows.count > limit {
            html +=
                "<p class=\"muted\">\(scope.text("共 \(table.rows.count) 行，仅显示前 \(limit) 行；完整内容请导出。", "\(table.rows.count) rows, the first \(limit) shown; export for all."))</p>"
        }
        return html + "</section>"
    }

    /// The period and office form.
    static func chooser(_ scope: DashboardScope, path: String) -> String {
        let offices = scope.tree.offices.values
            .filter {
                ($0.level == .district || $0.level == .street || $0.level == .community)
                    && scope.tree.may(scope.session.office, see: $0.code)
            }
            .sorted { ($0.level.rank, $0.code) < ($1.level.rank, $1.code) }
        var html =
            "<section><form method=\"get\" action=\"\(path)\"><label>\(scope.text("单位", "Office")) <select name=\"office\" id=\"office\">"
        for office in offices {
            html +=
                "<option value=\"\(HTML.escape(office.code))\"\(office.code == scope.office ? " selected" : "")>\(HTML.escape(office.code)) \(HTML.escape(office.name))</option>"
        }
        html += "</select></label> "
        html +=
            "<label>\(scope.text("受理自", "From")) <input name=\"from\" type=\"date\" value=\"\(scope.period.from?.description ?? "")\"></label> "
        html += "<label>\(scope.text("至", "to")) <input name=\"to\" type=\"date\" value=\"\(scope.period.to?.description ?? "")\"></label> "
        if scope.language == .en { html += "<input type=\"hidden\" name=\"lang\" value=\"en\">" }
        html += "<button type=\"submit\">\(scope.text("查看", "Show"))</button></form></section>"
        return html
    }

    static func card(_ id: String, _ label: String, _ value: String, link: String?) -> String {
        let inner = "<div class=\"value\" id=\"\(id)\">\(HTML.escape(value))</div><div class=\"label\">\(HTML.escape(label))</div>"
        return "<div class=\"card\">\(link.map { "<a href=\"\(HTML.escape($0))\">\(inner)</a>" } ?? inner)</div>"
    }
}

extension OfficeLevel {
    /// The order offices are listed in: the district, streets, communities, departments.
    var rank: Int {
        switch self {
        case .district: 0
        case .street: 1
        case .community: 2
        case .department: 3
        }
    }
}
