import CaseDomain
import Testing

@Suite struct MaskingTests {
    @Test(arguments: [("张三", "张*"), ("欧阳娜娜", "欧***"), ("王", "*"), ("", "")])
    func names(input: String, masked: String) {
        #expect(Masking.name(input) == masked)
    }

    @Test(arguments: [
        ("13812341234", "138****1234"), ("138 1234 1234", "138****1234"), ("010-62345678", "010****5678"), ("12345", "*2345"),
    ])
    func phones(input: String, masked: String) {
        #expect(Masking.phone(input) == masked)
    }

    @Test func addressesKeepTheStreetAndHideTheNumbers() {
        #expect(Masking.address("和平路88号3栋2单元502室") == "和平路**号*栋*单元***室")
        #expect(Masking.address("东湖社区幸福里") == "东湖社区幸福里")
    }

    @Test func identityNumbers() {
        #expect(Masking.idNumber("110105199001011234") == "110***********1234")
        #expect(Masking.idNumber("12345") == "*****")
    }

    @Test func phoneNumbersAreValidated() throws {
        #expect(try PhoneNumber.normalize("138-1234-1234") == "13812341234")
        #expect(try PhoneNumber.normalize("0571 87654321") == "057187654321")
        for bad in ["12812341234", "1381234123", "phone", "+8613812341234", ""] {
            #expect(throws: CaseDomainError.invalidPhone) { try PhoneNumber.normalize(bad) }
        }
    }
}
