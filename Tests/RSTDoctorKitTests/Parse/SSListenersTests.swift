import Foundation
import XCTest

@testable import RSTDCore
@testable import RSTDParse

final class SSListenersTests: XCTestCase {
    func listeners(_ text: String) throws -> [Record] {
        try SSListenersParser.parse(RawOutput(text)).records("listeners")
    }

    func byPort(_ records: [Record], _ port: Int64) -> Record? {
        records.first { $0.int("port") == port }
    }

    /// Captured in a namespace: a backlog-1 listener holding two unaccepted connections, a process
    /// whose name has spaces, quotes and a parenthesis, a device-bound listener, a dual-stack one.
    func testNamespaceCapture() throws {
        let facts = try SSListenersParser.parse(RawOutput(try TestFiles.fixture("ss-listeners", "netns-queue-full-Hltnp.txt")))
        let l = facts.records("listeners")
        XCTAssertEqual(l.count, 4)
        let full = try XCTUnwrap(byPort(l, 8080))
        XCTAssertEqual(full.string("address"), "10.99.0.1")
        XCTAssertEqual(full.int("queue"), 2)
        XCTAssertEqual(full.int("backlog"), 1)
        // ss cuts /proc/PID/stat's name at its first `)`: the raw name is `my "srv" (x`.
        XCTAssertEqual(full.string("process"), "my \"srv\" (x")
        XCTAssertEqual(full.int("pid"), 15051)
        XCTAssertEqual(facts.int("listeners.full_queues"), 1)
        let bound = try XCTUnwrap(byPort(l, 5353))
        XCTAssertEqual(bound.string("address"), "0.0.0.0")
        XCTAssertEqual(bound.string("interface"), "veth-a")
        XCTAssertEqual(bound.string("process"), "python3")
        XCTAssertEqual(byPort(l, 9090)?.string("address"), "*")
        XCTAssertEqual(byPort(l, 7777)?.int("backlog"), 4096)
    }

    func testHeaderAndNoProcessVariants() throws {
        let plain = try listeners(try TestFiles.fixture("ss-listeners", "netns-queue-full-Hltnp.txt"))
        let header = try listeners(try TestFiles.fixture("ss-listeners", "netns-with-header-ltnp.txt"))
        XCTAssertEqual(plain, header)
        let noProc = try listeners(try TestFiles.fixture("ss-listeners", "netns-no-process-Hltn.txt"))
        XCTAssertEqual(noProc.count, 4)
        XCTAssertTrue(noProc.allSatisfy { $0["process"] == nil && $0["pid"] == nil })
        let host = try listeners(try TestFiles.fixture("ss-listeners", "host-Hltnp.txt"))
        XCTAssertEqual(host.first?.int("port"), 2024)
    }

    func testCorpusWithNetidColumn() throws {
        let tulpn = try listeners(try TestFiles.corpus("ss/insights-core__ss_-tulpn.txt"))
        XCTAssertEqual(tulpn.count, 7)
        let ssh6 = try XCTUnwrap(byPort(tulpn, 2223))
        XCTAssertEqual(ssh6.string("address"), "::")
        XCTAssertEqual(ssh6.int("pid"), 1416)
        // Old ss: users:(("sshd",1231,3)) without pid=.
        XCTAssertEqual(byPort(tulpn, 22)?.string("process"), "sshd")
        XCTAssertEqual(byPort(tulpn, 22)?.int("pid"), 1231)
        XCTAssertEqual(byPort(tulpn, 5900)?.int("backlog"), 1)
        XCTAssertNil(byPort(tulpn, 34850)?["process"])

        let tupna = try listeners(try TestFiles.corpus("ss/insights-core__ss_-tupna.txt"))
        XCTAssertEqual(tupna.count, 6, "UNCONN and ESTAB lines are not listeners")
        XCTAssertTrue(tupna.contains { $0.string("address") == "::1" && $0.int("port") == 25 })

        let tupna2 = try listeners(try TestFiles.corpus("ss/insights-core__ss_-tupna_2.txt"))
        XCTAssertEqual(tupna2.count, 9)
        XCTAssertTrue(tupna2.contains { $0.string("address") == "::1" && $0.int("port") == 631 })
        XCTAssertTrue(tupna2.contains { $0.string("address") == "*" && $0.int("port") == 80 })

        let docs = try listeners(try TestFiles.corpus("ss/insights-core__ss_-tupna_docs.txt"))
        XCTAssertEqual(docs.count, 1)
        XCTAssertEqual(docs.first?.string("process"), "rpcbind", "the first of two processes")
        XCTAssertEqual(docs.first?.int("pid"), 1139)
    }

    func testOddProcessNamesAndAddresses() throws {
        let text = """
        LISTEN 0 511 [fe80::1]%eth0:80 [::]:* users:(("a\u{1b}[31mred",pid=7,fd=3))
        LISTEN 3 2 [::ffff:192.0.2.1]:443 *:* users:(("x\\",pid=",pid=9,fd=1))
        LISTEN 0 5 127.0.0.1:ssh 0.0.0.0:*
        """
        let l = try listeners(text)
        XCTAssertEqual(l.count, 3)
        XCTAssertEqual(l[0].string("address"), "fe80::1")
        XCTAssertEqual(l[0].string("interface"), "eth0")
        XCTAssertEqual(l[0].string("process"), "a\u{1b}[31mred", "raw: escaping is the renderers' job")
        XCTAssertEqual(l[1].string("address"), "192.0.2.1")
        XCTAssertEqual(l[1].int("pid"), 9)
        XCTAssertNil(l[2]["port"], "a service name is not a port number")
    }

    func testGarbageTruncatedEmpty() throws {
        XCTAssertThrowsError(try SSListenersParser.parse(RawOutput("Cannot open netlink socket: Permission denied")))
        XCTAssertEqual(try listeners("").count, 0)
        XCTAssertEqual(try listeners("State Recv-Q Send-Q Local Address:Port Peer Address:Port Process\n").count, 0)
        let full = try TestFiles.fixture("ss-listeners", "netns-queue-full-Hltnp.txt")
        for cut in stride(from: 0, to: full.utf8.count, by: 7) {
            let prefix = String(decoding: Array(full.utf8.prefix(cut)), as: UTF8.self)
            _ = try? SSListenersParser.parse(RawOutput(prefix))
        }
        let l = try listeners("LISTEN 0 128 0.0.0.0:22 0.0.0.0:* users:((\"sshd")
        XCTAssertEqual(l.count, 1)
        XCTAssertNil(l[0]["process"])
    }
}
