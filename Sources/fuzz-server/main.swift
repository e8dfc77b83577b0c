import CaseStore
import Foundation
// libFuzzer target: the server's request handling, end to end over loopback HTTP.
//
// A real `rain-server` application (Hummingbird, the embedded SQLite storage in a
// temporary folder, three enrolled replicas) runs in this process; each input becomes
// one HTTP request — its first byte picks the endpoint, the rest is the body (or the
// query, or the whole raw request). Any 5xx answer, or no answer at all to a
// well-formed request, aborts, which libFuzzer records: a client's mistake must always
// get a 4xx. A push the server accepts must come back, change for change and byte for
// byte, when the district pulls everything. The database is reset to the same starting
// file before every input, so that a finding replays alone.
//
//   swift build --product fuzz-server -Xswiftc -sanitize=fuzzer --scratch-path .build-fuzz
//   .build-fuzz/debug/fuzz-server Fuzz/corpus/server -max_total_time=60
//   (scripts/fuzz.sh does both.)
import FuzzSupport
import Hummingbird
import Logging
import ReplicaStore
import SyncCore
import SyncProtocol
import SyncServer
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

let folder = FileManager.default.temporaryDirectory.appendingPathComponent("rain-fuzz-server-\(getpid())").path
try? FileManager.default.removeItem(atPath: folder)
try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
// The starting file: the office tree and three replicas, made once and copied before
// every input.
let template = folder + "/template.sqlite"
let live = folder + "/central.sqlite"
let (credentialA, credentialB, credentialDistrict) = try { () throws -> (String, String, String) in
    let storage = try SQLiteCentralStorage.open(at: template)
    defer { storage.close() }
    let now = ReplicaStore.nowMillis()
    _ = try storage.addOffice(code: "HSD", name: "区", level: .district, parent: nil, now: now)
    _ = try storage.addOffice(code: "JD1", name: "街道", level: .street, parent: "HSD", now: now)
    _ = try storage.addOffice(code: "HSM", name: "社区", level: .community, parent: "JD1", now: now)
    func enrolled(_ replica: String, office: String) throws -> String {
        let token = try storage.issueToken(office: office, lifetime: 3_600_000_000, now: now).token
        return try storage.enrol(EnrolRequestV1(token: token, replica: ReplicaID(replica), staff: "测试"), now: now).credential
    }
    // `ra`: pushes and pulls; `rb`: asks for re-issues (which retire it, so apart from
    // `ra`); `rd`: the district, which reads back what was pushed.
    return (try enrolled("ra", office: "HSM"), try enrolled("rb", office: "HSM"), try enrolled("rd", office: "HSD"))
}()
// Reopened after each reset (ResilientStorage opens on first use after `close`).
let storage = ResilientStorage { _ throws(ServerError) in try SQLiteCentralStorage.open(at: live, create: false) }

/// Puts the starting file back: whatever the last input did is gone.
func reset() {
    storage.closeNow()
    for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: live + suffix) }
    do {
        try FileManager.default.copyItem(atPath: template, toPath: live)
    } catch {
        fail("cannot reset the database: \(error)")
    }
}
reset()

var logger = Logger(label: "fuzz-server")
logger.logLevel = .critical
let port = Mutex<Int>(0)
let app = try makeSyncApplication(
    storage: storage, settings: ServerSettings(host: "127.0.0.1", port: 0), logger: logger,
    onRunning: { bound in port.withLock { $0 = bound } })
Task.detached { try await app.runService() }
while port.withLock({ $0 }) == 0 { usleep(10_000) }
let serverPort = UInt16(port.withLock { $0 })

/// Sends `request` on a new connection and returns the answer (nil: none).
/// A raw request may be incomplete: the sending side is closed after it, so that the
/// server sees its end instead of waiting for more.
nonisolated(unsafe) var lastProblem = ""

struct Answer {
    let status: Int
    let body: [UInt8]
}

func exchange(_ request: [UInt8], raw: Bool) -> Answer? {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var timeout = timeval(tv_sec: 10, tv_usec: 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = serverPort.bigEndian
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    var connected: Int32 = -1
    repeat {
        connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
    } while connected != 0 && errno == EINTR
    guard connected == 0 else {
        lastProblem = "cannot connect: errno \(errno)"
        return nil
    }
    var offset = 0
    while offset < request.count {
        let written = request.withUnsafeBytes { send(fd, $0.baseAddress! + offset, request.count - offset, Int32(MSG_NOSIGNAL)) }
        if written < 0, errno == EINTR { continue }
        if written <= 0 { break }
        offset += written
    }
    if raw { shutdown(fd, Int32(SHUT_WR)) }
    var answer: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 65_536)
    while true {
        let count = recv(fd, &buffer, buffer.count, 0)
        // libFuzzer's timer (SIGALRM) interrupts blocking calls: try again.
        if count < 0, errno == EINTR { continue }
        if count < 0 { lastProblem = "recv failed: errno \(errno) after \(answer.count) bytes" }
        if count == 0 { lastProblem = "closed after \(answer.count) bytes: \(String(decoding: answer.prefix(200), as: UTF8.self))" }
        if count <= 0 { break }
        answer.append(contentsOf: buffer[0..<count])
    }
    // "HTTP/1.1 200 OK"
    guard answer.count >= 12, answer.starts(with: Array("HTTP/1.1 ".utf8)),
        let status = Int(String(decoding: answer[9..<12], as: UTF8.self))
    else { return nil }
    return Answer(status: status, body: body(of: answer))
}

/// The body of a whole answer (`Connection: close`): after the head, de-chunked when sent
/// in chunks.
func body(of answer: [UInt8]) -> [UInt8] {
    let separator = Array("\r\n\r\n".utf8)
    guard let end = (0...(max(answer.count - 4, 0))).first(where: { answer[$0..<min($0 + 4, answer.count)].elementsEqual(separator) })
    else { return [] }
    let head = String(decoding: answer[..<end], as: UTF8.self).lowercased()
    var rest = Array(answer[(end + 4)...])
    guard head.contains("transfer-encoding: chunked") else { return rest }
    var body: [UInt8] = []
    while let line = rest.firstIndex(of: 0x0A),
        let size = Int(String(decoding: rest[..<line], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines), radix: 16), size > 0
    {
        let start = line + 1
        guard start + size <= rest.count else { break }
        body += rest[start..<(start + size)]
        rest = Array(rest[min(start + size + 2, rest.count)...])
    }
    return body
}

func request(_ method: String, _ target: String, credential: String?, body: [UInt8]) -> [UInt8] {
    var head = "\(method) \(target) HTTP/1.1\r\nHost: 127.0.0.1\r\nRain-Protocol: 1\r\nConnection: close\r\n"
    if let credential { head += "Authorization: Bearer \(credential)\r\n" }
    head += "Content-Type: application/json\r\nContent-Length: \(body.count)\r\n\r\n"
    return Array(head.utf8) + body
}

func check(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    guard size > 0, let data else { return 0 }
    let selector = data[0]
    let rest = Array(UnsafeBufferPointer(start: data + 1, count: size - 1))
    let raw: Bool
    let bytes: [UInt8]
    switch selector % 6 {
    case 0: (raw, bytes) = (false, request("POST", "/changes", credential: credentialA, body: rest))
    case 1:
        // The query as given, minus what cannot be on a request line at all.
        let query = String(decoding: rest.filter { $0 > 0x20 && $0 < 0x7F }, as: UTF8.self)
        (raw, bytes) = (false, request("GET", "/changes?" + query, credential: credentialA, body: []))
    case 2: (raw, bytes) = (false, request("POST", "/enrol", credential: nil, body: rest))
    case 3: (raw, bytes) = (false, request("POST", "/reissue", credential: credentialB, body: rest))
    case 4: (raw, bytes) = (false, request("POST", "/rekey", credential: credentialA, body: rest))
    default: (raw, bytes) = (true, rest)
    }
    reset()
    let answer = exchange(bytes, raw: raw)
    if let answer, answer.status >= 500 {
        fail("the server answered \(answer.status) to a client's request")
    }
    if answer == nil, !raw {
        fail("the server did not answer a well-formed request (\(lastProblem)): \(String(decoding: bytes.prefix(300), as: UTF8.self))")
    }
    if selector % 6 == 0, let answer, answer.status == 200 { checkKept(pushed: rest, answer: answer) }
    return 0
}

/// An accepted push is held whole: the district pulls back every change it carried,
/// byte for byte in canonical form, and the answer counted them.
func checkKept(pushed: [UInt8], answer: Answer) {
    let changes: [Change]
    do {
        changes = try ChangeBatchV1.decode(pushed)
    } catch {
        fail("the server accepted a push the validator refuses: \(error.message)")
    }
    let sent = Set(changes.map(ChangeV1.encode))
    guard let response = try? PushResponseV1.decode(answer.body), response.accepted + response.duplicates == changes.count,
        response.accepted == sent.count
    else {
        fail(
            "a push of \(changes.count) changes (\(sent.count) distinct) was answered \(String(decoding: answer.body.prefix(300), as: UTF8.self))"
        )
    }
    var pulled: [[UInt8]] = []
    var after = ""
    for _ in 0..<100 {
        let target = "/changes?limit=10000" + (after.isEmpty ? "" : "&after=" + after)
        guard let page = exchange(request("GET", target, credential: credentialDistrict, body: []), raw: false), page.status == 200,
            let decoded = try? PullResponseV1.decode(page.body)
        else {
            fail("the district cannot pull back an accepted push (\(lastProblem))")
        }
        pulled += decoded.changes.map(ChangeV1.encode)
        after = decoded.cursor.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? decoded.cursor
        if !decoded.more { break }
    }
    guard pulled.count == sent.count, Set(pulled) == sent else {
        fail(
            "pushed \(sent.count) distinct changes, the district pulled back \(pulled.count), \(Set(pulled) == sent ? "the same" : "others")"
        )
    }
}

atexit { try? FileManager.default.removeItem(atPath: folder) }
runFuzzer { data, size in check(data, size) }
