import CaseDomain

/// The page's words in each language.
struct PageTexts {
    var title, otherLanguage, submitHeading, kind, category, community, description, address, name, phone, privacy, submit: String
    var followHeading, number, tail, follow, submittedHeading, yourNumber, keepNumber, statusHeading, status, service: String
    var agency, requested, due, answerHeading, noAnswer, yourRating, timelineHeading, received, rateHeading, score: String
    var comment, rate, messageHeading, message, send, home, thanks, messageSent: String
    var ideasHeading, suggestionHeading, suggestionStage, suggestionReason, suggestionReward, suggestionImplemented: String

    static func of(_ language: Language) -> PageTexts { language == .zh ? zh : en }

    static let zh = PageTexts(
        title: "民声直达", otherLanguage: "English", submitHeading: "我要反映", kind: "类型", category: "类别", community: "所在社区",
        description: "诉求内容", address: "地址", name: "姓名（可不填）", phone: "手机号",
        privacy: "您的姓名、手机号和地址只给处理您诉求的工作人员看，不会公开。", submit: "提交", followHeading: "进度查询", number: "受理编号",
        tail: "手机号后四位", follow: "查询", submittedHeading: "已受理", yourNumber: "您的受理编号：",
        keepNumber: "请保存受理编号，凭它和手机号后四位查询进度、评价服务。", statusHeading: "办理进度", status: "状态", service: "类别",
        agency: "办理单位", requested: "提交时间", due: "应办结日期", answerHeading: "答复", noAnswer: "尚未答复。", yourRating: "您的评价：",
        timelineHeading: "办理过程", received: "已受理", rateHeading: "服务评价", score: "评分（1 最差，5 最好）", comment: "评价内容（可不填）",
        rate: "提交评价", messageHeading: "补充留言", message: "留言内容", send: "发送", home: "返回首页", thanks: "谢谢您的评价！",
        messageSent: "留言已送达，社区同步后即可看到。", ideasHeading: "金点子公示", suggestionHeading: "建议进展", suggestionStage: "当前阶段",
        suggestionReason: "未入选理由", suggestionReward: "奖励", suggestionImplemented: "实施")

    static let en = PageTexts(
        title: "Citizen Voice", otherLanguage: "中文", submitHeading: "Send a request", kind: "Kind", category: "Category",
        community: "Your community", description: "What is it about", address: "Address", name: "Name (optional)",
        phone: "Mobile phone", privacy: "Your name, phone and address are seen only by the staff handling your request, never published.",
        submit: "Submit", followHeading: "Follow a request", number: "Request number", tail: "Last four digits of your phone",
        follow: "Follow", submittedHeading: "Received", yourNumber: "Your request number:",
        keepNumber: "Keep this number: with your phone's last four digits it lets you follow and rate your request.",
        statusHeading: "Progress", status: "Status", service: "Category", agency: "Handled by", requested: "Sent", due: "Due by",
        answerHeading: "Answer", noAnswer: "No answer yet.", yourRating: "Your rating:", timelineHeading: "Steps", received: "received",
        rateHeading: "Rate the service", score: "Score (1 worst, 5 best)", comment: "Comment (optional)", rate: "Send rating",
        messageHeading: "Add a message", message: "Message", send: "Send", home: "Back", thanks: "Thank you for your rating!",
        messageSent: "Message sent: the office sees it at its next sync.", ideasHeading: "Golden ideas",
        suggestionHeading: "Your suggestion", suggestionStage: "Stage", suggestionReason: "Why it was not selected",
        suggestionReward: "Reward", suggestionImplemented: "Implemented")

    var dictionary: [String: String] {
        [
            "title": title, "otherLanguage": otherLanguage, "submitHeading": submitHeading, "kind": kind, "category": category,
            "community": community, "description": description, "address": address, "name": name, "phone": phone, "privacy": privacy,
            "submit": submit, "followHeading": followHeading, "number": number, "tail": tail, "follow": follow,
            "submittedHeading": submittedHeading, "yourNumber": yourNumber, "keepNumber": keepNumber, "statusHeading": statusHeading,
            "status": status, "service": service, "agency": agency, "requested": requested, "due": due, "answerHeading": answerHeading,
            "noAnswer": noAnswer, "yourRating": yourRating, "timelineHeading": timelineHeading, "received": received,
            "rateHeading": rateHeading, "score": score, "comment": comment, "rate": rate, "messageHeading": messageHeading,
            "message": message, "send": send, "home": home, "ideasHeading": ideasHeading, "suggestionHeading": suggestionHeading,
            "suggestionStage": suggestionStage, "suggestionReason": suggestionReason, "suggestionReward": suggestionReward,
            "suggestionImplemented": suggestionImplemented,
        ]
    }
}
