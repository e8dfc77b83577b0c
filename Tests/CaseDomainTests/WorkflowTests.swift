import CaseDomain
import Testing

@Suite struct WorkflowTests {
    @Test func theHappyPathRunsReceivedToClosed() throws {
        var state = WorkflowState()
        for (action, expected) in [(CaseAction.verify, CaseStatus.verifying), (.handle, .handling), (.reply, .replied), (.close, .closed)] {
            state = try Workflow.apply(action, to: state)
            #expect(state.status == expected)
        }
        #expect(state.round == 1)
        #expect(state.level == .community)
    }

    @Test(arguments: CaseStatus.allCases)
    func legalMovesPerStatus(status: CaseStatus) {
        let legal = Workflow.legalActions(from: WorkflowState(status: status))
        let expected: [CaseAction] =
            switch status {
            case .received: [.verify]
            case .verifying: [.handle, .escalate]
            case .handling: [.reply, .escalate]
            case .replied: [.close, .reopen]
            case .closed: [.reopen]
            }
        #expect(legal == expected)
    }

    @Test func anIllegalMoveNamesTheLegalOnesInBothLanguages() {
        let error = #expect(throws: CaseDomainError.self) {
            try Workflow.apply(.close, to: WorkflowState(status: .verifying))
        }
        #expect(error == .illegalMove(action: .close, status: .verifying, level: .community, legal: [.handle, .escalate]))
        #expect(error?.message(.en) == "cannot close the case: it is verifying (community level); legal moves: handle, escalate")
        #expect(error?.message(.zh) == "无法办结：案件当前为核实中（社区）；可执行的操作：办理、上报")
    }

    @Test func escalationRaisesTheLevelAndNeedsAReason() throws {
        let handling = WorkflowState(status: .handling)
        #expect(throws: CaseDomainError.reasonRequired(.escalate)) { try Workflow.apply(.escalate, to: handling, reason: "  ") }
        let street = try Workflow.apply(.escalate, to: handling, reason: "涉及多个社区，需街道协调")
        #expect(street == WorkflowState(status: .handling, round: 1, level: .street))
        let district = try Workflow.apply(.escalate, to: street, reason: "需区级部门处理")
        #expect(district.level == .district)
        #expect(throws: CaseDomainError.cannotEscalateFurther(.district)) { try Workflow.apply(.escalate, to: district, reason: "x") }
        #expect(throws: CaseDomainError.self) { try Workflow.apply(.escalate, to: WorkflowState(status: .received), reason: "x") }
    }

    @Test func reopenStartsANewRoundInHandling() throws {
        #expect(throws: CaseDomainError.reasonRequired(.reopen)) { try Workflow.apply(.reopen, to: WorkflowState(status: .closed)) }
        let reopened = try Workflow.apply(.reopen, to: WorkflowState(status: .closed, round: 1), reason: "居民反映问题仍未解决")
        #expect(reopened == WorkflowState(status: .handling, round: 2, level: .community))
        let again = try Workflow.apply(.reopen, to: WorkflowState(status: .replied, round: 2), reason: "再次反映")
        #expect(again.round == 3)
        #expect(throws: CaseDomainError.self) { try Workflow.apply(.reopen, to: WorkflowState(status: .handling), reason: "x") }
    }

    @Test func ratingsNeedAReplyAndAScoreOfOneToFive() throws {
        try Workflow.checkRating(5, status: .replied)
        try Workflow.checkRating(1, status: .closed)
        #expect(throws: CaseDomainError.ratingOutOfRange(6)) { try Workflow.checkRating(6, status: .closed) }
        #expect(throws: CaseDomainError.ratingOutOfRange(0)) { try Workflow.checkRating(0, status: .closed) }
        #expect(throws: CaseDomainError.ratingBeforeReply(.handling)) { try Workflow.checkRating(4, status: .handling) }
    }

    @Test func kindsAndStatusesParseCodesAndChineseLabels() {
        #expect(CaseKind(parsing: "投诉") == .complaint)
        #expect(CaseKind(parsing: "Help") == .help)
        #expect(CaseKind(parsing: "praise") == nil)
        #expect(CaseStatus(parsing: "已办结") == .closed)
        #expect(CaseStatus.received < CaseStatus.closed)
        #expect(CaseKind.allCases.map(\.defaultWorkingDays) == [15, 5, 5, 20])
    }

    @Test func categoriesStartFromTheDefaultsAndCanBeExtended() throws {
        var list = CategoryList()
        #expect(list.names.count == 10)
        #expect(list.contains("环境卫生"))
        try list.add("养老服务")
        try list.add("养老服务")
        #expect(list.names.last == "养老服务")
        #expect(list.names.count == 11)
        #expect(throws: CaseDomainError.invalidCategoryName(0)) { try list.add("   ") }
    }
}
