import CaseStore
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
        /// Signed by the same CA for another name only (DNS:rain-district.example).
        let otherHost: String
        let otherHostKey: String

        init(in folder: String) throws {
            ca = folder + "/ca.pem"
            certificate = folder + "/server.pem"
            key = folder + "/server-key.pem"
            otherCA = folder + "/other-ca.pem"
            otherHost = folder + "/other-host.pem"
            otherHostKey = folder + "/other-host-key.pem"
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
                [
                    "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", otherHostKey, "-out",
                    folder + "/other-host.csr", "-subj", "/CN=rain-district.example",
                ],
                [
                    "x509", "-req", "-in", folder + "/other-host.csr", "-CA", ca, "-CAkey", folder + "/ca-key.pem", "-CAcreateserial",
                    "-out", otherHost, "-days", "2", "-extfile", folder + "/other-san.cnf",
                ],
            ]
            try "subjectAltName=IP:127.0.0.1\n".write(toFile: folder + "/san.cnf", atomically: true, encoding: .utf8)
            try "subjectAltName=DNS:rain-district.example\n".write(toFile: folder + "/other-san.cnf", atomically: true, encoding: .utf8)
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

        // Without the CA, the certificate is not trusted; with another CA, neither; a
        // server whose certificate (from the right CA) names another host, neither. Each
        // time the same words, exit 7, no file left, and the token unspent: the handshake
        // failed before any request (the same token enrols below). (NIOSSL matches a
        // certificate's IP address against the address connected to, whatever name was
        // used, so "https://localhost" reaches this server's 127.0.0.1 certificate.)
        let spare = try token()
        let elsewhere = try ServerProcess(
            folder: scratch.path, db: scratch.file("elsewhere.sqlite"),
            arguments: ["--tls-cert", certificates.otherHost, "--tls-key", certificates.otherHostKey])
        let refusals: [(server: String, extra: [String])] = [
            (server.url, []), (server.url, ["--ca-file", certificates.otherCA]), (elsewhere.url, ["--ca-file", certificates.ca]),
        ]
        for (address, extra) in refusals {
            let refused = try rain(["init", "--office", "HSM", "--staff", "张三", "--server", address, "--token", spare] + extra, "a.sqlite")
            #expect(refused.status == 7, "\(address) \(extra): \(refused.stderr)")
            #expect(
                refused.stderr
                    == "rain: cannot connect securely to the server: the server's certificate is not trusted (give its CA with --ca-file when enrolling) or does not name this host (\(address))\n",
                "\(address) \(extra)")
            #expect(!FileManager.default.fileExists(atPath: scratch.file("a.sqlite")))
        }

        // With the district's CA it enrols, and later syncs use the CA kept in the file.
        for (name, secret) in [("a", spare), ("b", try token())] {
            let enrolled = try rain(
                ["init", "--office", "HSM", "--staff", name, "--server", server.url, "--token", secret, "--ca-file", certificates.ca],
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
        #expect(plain.status == 6, "\(plain.stderr)")
        #expect(plain.stderr.hasPrefix("rain: cannot reach the server: "), "\(plain.stderr)")
        #expect(!FileManager.default.fileExists(atPath: scratch.file("c.sqlite")))
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
        #expect(insecure.status == 6, "\(insecure.stderr)")
        #expect(insecure.stderr.hasPrefix("rain: cannot reach the server: "), "\(insecure.stderr)")
        // Loopback needs no --insecure: the address is taken and tried (nothing listens on
        // port 1), on a replica that exists, so the network is really reached.
        let offline = scratch.file("offline.sqlite")
        #expect(try execute(Built.rain, ["init", "--office", "HSM", "--staff", "张三", "--db", offline], in: scratch.path).status == 0)
        for host in ["http://127.0.0.1:1", "http://localhost:1", "http://[::1]:1"] {
            let loopback = try execute(
                Built.rain, ["enrol", "--server", host, "--token", "0123456789ab." + String(repeating: "0", count: 64), "--db", offline],
                in: scratch.path)
            #expect(loopback.status == 6, "\(host): \(loopback.stderr)")
            #expect(loopback.stderr.hasPrefix("rain: cannot reach the server: "), "\(host): \(loopback.stderr)")
        }
    }
}
