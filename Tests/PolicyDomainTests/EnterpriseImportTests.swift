import CaseDomain
import PolicyDomain
import Testing

struct EnterpriseImportTests {
    static let header = "name,credit_code,street,industry,size,founded,employees,revenue,tax_paid,tags,legal_rep,bank,account,contact"

    @Test func goodRowsAreReadWithEveryColumn() throws {
        let csv = """
            \(Self.header)
            和盛科技有限公司,91440300708461136T,JD1,C3911,small,2019-03-08,50,"12,000,000",300000.00,高新技术企业；专精特新,王某,工商银行,6222 0200 1234 5678,13812345678
            "和平""老字号""食品店",91350100M000100Y43,JD2,,小型,,,,,,,,,

            """
        let result = try EnterpriseImport(Array(csv.utf8))
        #expect(result.encoding == .utf8 && result.rejected.isEmpty && result.ignoredColumns.isEmpty)
        #expect(result.rows.map(\.line) == [2, 3])
        let first = result.rows[0].enterprise
        #expect(first.creditCode.text == "91440300708461136T" && first.street == "JD1" && first.industry == "C3911")
        #expect(first.size == .small && first.founded == CivilDate(year: 2019, month: 3, day: 8))
        #expect(first.employees == 50 && first.revenue == 12_000_000 && first.taxPaid == 300_000)
        #expect(first.tags == ["高新技术企业", "专精特新"] && first.account == "6222020012345678")
        #expect(first.facts.tags == ["高新技术企业", "专精特新"])
        let second = result.rows[1].enterprise
        #expect(second.name == "和平\"老字号\"食品店" && second.size == .small && second.industry == nil && second.account == nil)
    }

    @Test func aByteOrderMarkAndGB18030AreRead() throws {
        let utf8 = [0xEF, 0xBB, 0xBF] + Array("name,credit_code,street\r\n和盛科技（深圳）有限公司,91440300708461136T,JD1\r\n".utf8)
        let withBOM = try EnterpriseImport(utf8)
        #expect(withBOM.rows.first?.enterprise.name == "和盛科技（深圳）有限公司" && withBOM.encoding == .utf8)
        // The same file as Excel on a Chinese system saves it (made with Python's gb18030 codec).
        let gb: [UInt8] = [
            0x6E, 0x61, 0x6D, 0x65, 0x2C, 0x63, 0x72, 0x65, 0x64, 0x69, 0x74, 0x5F, 0x63, 0x6F, 0x64, 0x65, 0x2C, 0x73, 0x74, 0x72,
            0x65, 0x65, 0x74, 0x0A, 0xBA, 0xCD, 0xCA, 0xA2, 0xBF, 0xC6, 0xBC, 0xBC, 0xA3, 0xA8, 0xC9, 0xEE, 0xDB, 0xDA, 0xA3, 0xA9,
            0xD3, 0xD0, 0xCF, 0xDE, 0xB9, 0xAB, 0xCB, 0xBE, 0x2C, 0x39, 0x31, 0x34, 0x34, 0x30, 0x33, 0x30, 0x30, 0x37, 0x30, 0x38,
            0x34, 0x36, 0x31, 0x31, 0x33, 0x36, 0x54, 0x2C, 0x4A, 0x44, 0x31, 0x0A,
        ]
        let fromGB = try EnterpriseImport(gb)
        #expect(fromGB.encoding == .gb18030 && fromGB.rows.first?.enterprise.name == "和盛科技（深圳）有限公司")
        // Neither encoding: the line of the first bad byte is named.
        let broken = Array("name,credit_code,street\nx,y,z\n".utf8) + [0xFF, 0xFF, 0x0A]
        #expect(throws: EnterpriseImport.Failure.self) { try EnterpriseImport(broken) }
        do {
            _ = try EnterpriseImport(broken)
        } catch {
            #expect(error.message(.en) == "cannot read the file: it is neither UTF-8 nor GB18030 (line 3)")
        }
    }

    @Test func badRowsAreListedWithTheirLineAndReason() throws {
        let csv = """
            name,credit_code,street,employees,founded,size,industry,account,fax
            好企业,91440300708461136T,JD1,5,2020-01-01,micro,I65,,
            ,91350100M000100Y43,JD1,,,,,,
            坏代码,91350100M000100Y44,JD1,,,,,,
            "多行
            名称",91110000710925462X,,,,,,,
            人数,91110000710925462X,JD1,5.5,,,,,
            日期,91110000710925462X,JD1,,2021-02-29,,,,
            规模,91110000710925462X,JD1,,,huge,,,
            行业,91110000710925462X,JD1,,,,Z99,,
            账号,91110000710925462X,JD1,,,,,12ab,
            重复,91440300708461136T,JD1,,,,,,
            少列,91110000710925462X
            """
        let result = try EnterpriseImport(Array(csv.utf8))
        #expect(result.rows.map(\.line) == [2])
        #expect(result.ignoredColumns == ["fax"])
        let reasons = result.rejected.map { "\($0.line): \($0.reason.message(.en))" }
        #expect(
            reasons == [
                "3: name is empty",
                "4: invalid credit code: the check digit (character 18) does not match (expected 3) (credit_code)",
                "5: name must be one line of at most 100 characters",
                "7: employees must be a whole number",
                "8: founded must be a valid date, YYYY-MM-DD (1900 to 2199)",
                "9: size must be micro, small, medium or large",
                "10: industry must be a GB/T 4754 code such as C or C3911",
                "11: account must be 8 to 32 digits",
                "12: credit_code repeats line 2",
                "13: the row has 2 fields, the header 9",
            ])
        #expect(result.rejected.allSatisfy { !$0.reason.message(.zh).isEmpty })
    }

    @Test func aFileThatIsNotCSVIsRefusedWhole() {
        let cases: [(String, String)] = [
            ("", "cannot read the CSV: the file is empty: no header row (line 1)"),
            ("name,credit_code\n", "cannot read the CSV: the header lacks street (line 1)"),
            ("name,name,credit_code,street\n", "cannot read the CSV: the column name appears twice (line 1)"),
            ("name,credit_code,street\n\"open,x,y\nz,w,v\n", "cannot read the CSV: a quoted field has no closing quote (line 2)"),
            (
                "name,credit_code,street\n\"a\"b,x,y\n",
                "cannot read the CSV: a closing quote is followed by something other than a comma or a line end (line 2)"
            ),
            ("name,credit_code,street\na\"b,x,y\n", "cannot read the CSV: a quote inside a field that is not quoted (line 2)"),
        ]
        for (text, message) in cases {
            do {
                _ = try EnterpriseImport(Array(text.utf8))
                Issue.record("accepted: \(text)")
            } catch {
                #expect(error.message(.en) == message, "\(text)")
                #expect(!error.message(.zh).isEmpty)
            }
        }
    }

    @Test func reviewFindingsStayFixed() throws {
        // A BOM promises UTF-8: a bad byte after it is named, not read as GB18030.
        let marked = [0xEF, 0xBB, 0xBF] + Array("name,credit_code,street\n".utf8) + [0xC3, 0x28, 0x0A]
        do {
            _ = try EnterpriseImport(marked)
            Issue.record("a BOM file with invalid UTF-8 was accepted")
        } catch {
            #expect(error.message(.en) == "cannot read the file: it is neither UTF-8 nor GB18030 (line 2)")
        }
        // The header's own line, after blank lines; a lone CR inside quotes ends a line.
        let late = "\n\nname,credit_code\n"
        do {
            _ = try EnterpriseImport(Array(late.utf8))
            Issue.record("accepted")
        } catch {
            #expect(error.message(.en) == "cannot read the CSV: the header lacks street (line 3)")
        }
        let crInQuotes = "name,credit_code,street\n\"a\rb\",91440300708461136T,\n"
        #expect(try EnterpriseImport(Array(crInQuotes.utf8)).rejected.map(\.line) == [2])
        let afterCR = "name,credit_code,street\n\"a\rb\",91440300708461136T,JD1\nc,bad,JD1\n"
        #expect(try EnterpriseImport(Array(afterCR.utf8)).rejected.map(\.line) == [2, 4])
        // An ancient or signed year is a typo, refused; a tag with | is refused.
        let dates = "name,credit_code,street,founded,tags\na,91440300708461136T,JD1,0999-12-31,\nb,91350100M000100Y43,JD1,,x|y\n"
        #expect(
            try EnterpriseImport(Array(dates.utf8)).rejected.map { $0.reason.message(.en) } == [
                "founded must be a valid date, YYYY-MM-DD (1900 to 2199)", "a tag cannot contain | (tags)",
            ])
        // Trailing CRLF and no-break spaces around a code are trimmed.
        #expect(try CreditCode("\u{A0}91440300708461136T\r\n").text == "91440300708461136T")
    }

    @Test func namesMatchAcrossSuffixesBracketsWidthsAndCityPrefixes() {
        let registered = CompanyName("北京字节跳动科技有限公司")
        #expect(CompanyName("字节跳动科技有限责任公司").score(against: registered) == 2)
        #expect(CompanyName("北京市字节跳动科技有限公司").score(against: registered) == 2)
        #expect(CompanyName("字节跳动").score(against: registered) == 1)
        #expect(CompanyName("阿里巴巴").score(against: registered) == nil)
        let bracketed = CompanyName("和盛科技（深圳）有限公司")
        #expect(CompanyName("和盛科技(深圳)有限公司").score(against: bracketed) == 2)
        #expect(CompanyName("和盛科技【深圳】有限责任公司").score(against: bracketed) == 2)
        #expect(CompanyName("ＡＢＣ 科技有限公司").score(against: CompanyName("abc科技有限公司")) == 2)
        #expect(CompanyName("广东省深圳市腾讯计算机系统有限公司").key == "腾讯计算机系统有限公司")
        // Only places from the list are dropped: two supermarkets stay two companies.
        #expect(CompanyName("永辉超市股份有限公司").score(against: CompanyName("物美超市股份有限公司")) == nil)
        // (one name inside the other is still a weak match, never the same company)
        #expect(CompanyName("新都市物业服务有限公司").score(against: CompanyName("广州市物业服务有限公司")) == 1)
        #expect(CompanyName("科技有限公司").score(against: CompanyName("华为科技有限公司")) == 1)
        #expect(CompanyName("A［B］有限公司").score(against: CompanyName("A[B]有限公司")) == 2)
        // A name that only looks like a place keeps it: 超市 is not a city.
        #expect(CompanyName("和平超市有限公司").key == "和平超市有限公司")
        #expect(CompanyName("有限公司").score(against: CompanyName("和平超市有限公司")) == 1)
    }
}
