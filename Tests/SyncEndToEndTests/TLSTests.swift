import Foundation
import ReplicaStore
import Testing

/// HTTPS between `rain` and `rain-server`, with a throwaway CA and server certificate
/// made by `openssl` in the test.
@Suite(.serialized) struct TLSTests {
    /// A CA, and a certificate for 127.0.0.1 signed by it.
    struct Certificates {
        let ca: String
        let certificate: String
        let key: String
        let otherCA: String

        init(in folder: String) throws {
            ca = folder + "/ca.pem"
            certificate = folder + "/server.pem"
            key = folder + "/server-key.pem"
            otherCA = folder + "/other-ca.pem"
            let steps: [[String]] = [
                [
                    "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", folder + "/ca-key.pem",
                    "-out",
                    ca, "-days", "2", "-subj", "/CN=TimelyRain test CA",
                ],
                [
                    "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-out", folder + "/server.csr",
                    "-subj", "/CN=127.0.0.1",
                ],
                [
                    "x509", "-req", "-in", folder + "/server.csr", "-CA", ca, "-CAkey", folder + "/ca-key.pem", "-CAcreateserial", "-out",
                    certificate, "-days", "2", "-extfile", folder + "/san.cnf",
                ],
                [
                    "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", folder + "/other-key.pem",
                    "-out", otherCA, "-days", "2", "-subj", "/CN=Somebody else",
                ],
            ]
            try "subjectAltName=IP:127.0.0.1\n".write(toFile: folder + "/san.cnf", atomically: true, encoding: .utf8)
            for arguments in steps {
                let run = try execute("/usr/bin/openssl", arguments, in: folder)
                try #require(run.status == 0, "openssl \(arguments[0]): \(run.stderr)")
            }
        }
    }

    @Test func anOfficeSyncsOverHTTPSWithTheDistrictsCA() throws {
        let scratch = try Scratch()
        let certificates = try Certificates(in: scratch.path)
        let server = try ServerProcess(
            folder: scratch.path, db: scratch.file("central.sqlite"),
            arguments: ["--tls-cert", certificates.certificate, "--tls-key", certificates.key])
        #expect(server.url.hasPrefix("https://127.0.0.1:"))
        try #require(server.admin(["office", "add", "HSD", "--name", "和盛区", "--level", "district"]).status == 0)
        try #require(server.admin(["office", "add", "JD1", "--name", "和平街道", "--level", "street", "--parent", "HSD"]).status == 0)
        try #require(server.admin(["office", "add", "HSM", "--name", "和盛社区", "--level", "community", "--parent", "JD1"]).status == 0)
        func token() throws -> String { try #require(try server.admin(["office", "token", "HSM", "--json"]).object["token"] as? String) }
        func rain(_ arguments: [String], _ db: String) throws -> Run {
            try execute(Built.rain, arguments + ["--db", scratch.file(db)], in: scratch.path)
        }

        // Without the CA, the certificate is not trusted: nothing is enrolled, no file is left.
        let untrusted = try rain(["init", "--office", "HSM", "--staff", "张三", "--server", server.url, "--token", try token()], "a.sqlite")
        #expect(untrusted.status == 7, "\(untrusted.stderr)")
        #expect(untrusted.stderr.contains("certificate"), "\(untrusted.stderr)")
        #expect(!FileManager.default.fileExists(atPath: scratch.file("a.sqlite")))
        // Another CA's certificate does not help either.
        let wrongCA = try rain(
            [
                "init", "--office", "HSM", "--staff", "张三", "--server", server.url, "--token", try token(), "--ca-file",
                certificates.otherCA,
            ],
            "a.sqlite")
        #expect(wrongCA.status == 7)

        // With the district's CA it enrols, and later syncs use the CA kept in the file.
        for name in ["a", "b"] {
            let enrolled = try rain(
                ["init", "--office", "HSM", "--staff", name, "--server", server.url, "--token", try token(), "--ca-file", certificates.ca],
                name + ".sqlite")
            #expect(enrolled.status == 0, "\(enrolled.stderr)")
        }
        #expect(try rain(["case", "new", "--kind", "help", "--category", "社会救助", "--title", "独居老人需要助餐"], "a.sqlite").status == 0)
        let pushed = try rain(["sync", "--json"], "a.sqlite")
        #expect(pushed.status == 0 && pushed.object["sent"] as? Int == 1, "\(pushed.stderr)")
        let pulled = try rain(["sync", "--json"], "b.sqlite")
        #expect(pulled.status == 0 && pulled.object["received"] as? Int == 1, "\(pulled.stderr)")

        // Plain http to the https port fails clearly, not silently.
        let plain = try rain(
            [
                "init", "--office", "HSM", "--staff", "c", "--server", server.url.replacingOccurrences(of: "https:", with: "http:"),
                "--token", try token(),
            ],
            "c.sqlite")
        #expect(plain.status == 6 || plain.status == 7, "\(plain.stderr)")
    }

    @Test func plainHTTPToAnotherMachineIsRefusedUnlessInsecure() throws {
        let scratch = try Scratch()
        let refused = try execute(
            Built.rain,
            [
                "init", "--office", "HSM", "--staff", "张三", "--server", "http://192.0.2.10:8080", "--token", "t", "--db",
                scratch.file("a.sqlite"),
            ],
            in: scratch.path)
        #expect(refused.status == 2)
        #expect(refused.stderr.contains("refusing plain http to 192.0.2.10"), "\(refused.stderr)")
        #expect(!FileManager.default.fileExists(atPath: scratch.file("a.sqlite")))
        // With --insecure the address is accepted (and then simply unreachable here).
        let insecure = try execute(
            Built.rain,
            [
                "init", "--office", "HSM", "--staff", "张三", "--server", "http://192.0.2.10:8080", "--token", "t", "--insecure", "--db",
                scratch.file("b.sqlite"),
            ], in: scratch.path)
        #expect(insecure.status != 2, "\(insecure.stderr)")
        for host in ["http://127.0.0.1:1", "http://localhost:1", "http://[::1]:1"] {
            let loopback = try execute(
                Built.rain, ["enrol", "--server", host, "--token", "t", "--db", scratch.file("none.sqlite")], in: scratch.path)
            #expect(!loopback.stderr.contains("refusing plain http"), "\(host): \(loopback.stderr)")
        }
    }
}
