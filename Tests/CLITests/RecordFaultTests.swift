import Foundation
import XCTest

/// `rstdoctor record` under faults (issue 14): a full disk, its tracefs instance removed under it, SIGTERM
/// in the middle of a burst. Mounts happen in a private mount namespace (`unshare -m --propagation
/// private`), so the host's mount table is untouched. A corrupt or foreign journal: JournalTests and
/// LabTests/RecordTests. The clock jumping: RecordPlacementTests (an injected clock).
final class RecordFaultTests: XCTestCase {
    var dir = ""

    override func setUpWithError() throws {
        guard CLI.isRoot else { throw XCTSkip("the recorder's tracepoints and the mounts need root") }
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/unshare") else { throw XCTSkip("unshare (util-linux) is not installed") }
        guard FileManager.default.fileExists(atPath: "/sys/kernel/tracing/instances") else { throw XCTSkip("no tracefs at /sys/kernel/tracing") }
        dir = try CLI.tempDir("record-fault")
    }

    override func tearDown() { try? FileManager.default.removeItem(atPath: dir) }

    /// A port nothing listens on (bound, then closed without listening).
    static func closedPort() -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var a = sockaddr_in()
        a.sin_family = sa_family_t(AF_INET)
        a.sin_addr.s_addr = inet_addr("127.0.0.1")
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafePointer(to: &a) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) } }
        _ = withUnsafeMutablePointer(to: &a) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
        return Int(UInt16(bigEndian: a.sin_port))
    }

    /// `python3 -c connects N PORT`: N refused connects to 127.0.0.1:PORT, the time of each on stdout.
    static let connects = #"""
        import socket,sys,time
        for i in range(int(sys.argv[1])):
            s=socket.socket()
            try: s.connect(("127.0.0.1",int(sys.argv[2])))
            except OSError: print("%.6f" % time.time(), flush=True)
            s.close(); time.sleep(float(sys.argv[3]) if len(sys.argv) > 3 else 0)
        """#

    func sqlite(_ db: String, _ sql: String) throws -> String {
        try CLI.run(["-readonly", db, sql], exe: "/usr/bin/sqlite3").stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// The journal's disk fills while resets happen: they are counted as lost, the recorder goes on, and once
    /// space is back a `loss` note says how many; exit 0. Still full at the end: exit 3 and stderr says so.
    func testFullDiskCountsAndReportsTheLoss() throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/sqlite3") else { throw XCTSkip("sqlite3 is not installed") }
        let port = Self.closedPort()
        for freeAgain in [true, false] {
            let mnt = dir + "/mnt", out = dir + "/out-\(freeAgain)"
            try FileManager.default.createDirectory(atPath: mnt, withIntermediateDirectories: true)
            try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
            let script = #"""
                mount -t tmpfs -o size=2m rstd-test "$1" || exit 99
                "$2" record --journal "$1/j.db" --no-capture --counter-interval 1s --port "$4" 2>"$3/err" & p=$!
                sleep 3; dd if=/dev/zero of="$1/fill" bs=4k 2>/dev/null
                python3 -c "$5" 20 "$4"; sleep 3
                [ "$6" = true ] && rm "$1/fill" && sleep 2
                kill -TERM $p; wait $p; echo "rc=$?"; cp "$1"/j.db* "$3/"
                """#
            let r = try CLI.run(["-m", "--propagation", "private", "sh", "-c", script, "sh", mnt, CLI.binary, out, String(port),
                                 Self.connects, String(freeAgain)], exe: "/usr/bin/unshare", timeout: 60)
            let err = (try? String(contentsOfFile: out + "/err", encoding: .utf8)) ?? ""
            XCTAssertTrue(err.contains("the journal cannot be written") && err.contains("full"), err)
            XCTAssertFalse(err.contains("Fatal error"), err)
            if freeAgain {
                XCTAssertTrue(r.stdout.contains("rc=0"), r.stdout + err)
                let loss = try sqlite(out + "/j.db", "SELECT text FROM note WHERE kind = 'loss'")
                XCTAssertTrue(loss.contains("could not be written to the journal") && loss.contains("full"), loss)
                XCTAssertEqual(try sqlite(out + "/j.db", "SELECT count(*) FROM note WHERE kind = 'stop'"), "1")
            } else {
                XCTAssertTrue(r.stdout.contains("rc=3"), r.stdout + err)
                XCTAssertTrue(err.contains("could not record the loss either"), err)
            }
        }
    }

    /// `rmdir` of the recorder's tracefs instance is refused by the kernel while it reads it (EBUSY); the
    /// instance does go away when tracefs is unmounted under it: the recorder notes it, sets up a new one
    /// and traces again; on exit it removes its instance.
    func testTracefsInstanceRemovedUnderTheRecorder() throws {
        let port = Self.closedPort()
        let script = #"""
            "$1" record --journal "$2/j.db" --no-capture --counter-interval 1s --port "$3" 2>"$2/err" & p=$!
            sleep 3; rmdir "/sys/kernel/tracing/instances/rstdoctor-$p" 2>/dev/null; echo "rmdir=$?"
            umount -l /sys/kernel/tracing; sleep 3
            python3 -c "$4" 5 "$3"; sleep 2
            kill -TERM $p; wait $p; echo "rc=$?"; ls /sys/kernel/tracing/instances | grep -c "rstdoctor-$p"
            """#
        let r = try CLI.run(["-m", "--propagation", "private", "sh", "-c", script, "sh", CLI.binary, dir, String(port), Self.connects],
                            exe: "/usr/bin/unshare", timeout: 60)
        let err = (try? String(contentsOfFile: dir + "/err", encoding: .utf8)) ?? ""
        XCTAssertTrue(r.stdout.contains("rmdir=1"), "rmdir of an instance being read: \(r.stdout)")
        XCTAssertTrue(r.stdout.contains("rc=0\n0"), "exit 0 and no instance left: \(r.stdout) \(err)")
        XCTAssertTrue(err.contains("was removed under the recorder") && err.contains("a new tracefs instance"), err)
        let notes = try sqlite(dir + "/j.db", "SELECT text FROM note WHERE kind = 'limit'")
        XCTAssertTrue(notes.contains("was removed under the recorder"), notes)
        XCTAssertEqual(try sqlite(dir + "/j.db", "SELECT count(*) FROM rst_event WHERE sport = \(port) AND direction = 'sent'"), "5",
                       "resets after the new instance was set up")
    }

    /// SIGTERM during a burst of resets: exit 0, the journal opens, and every reset up to the signal is in it
    /// (the recorder commits its last rows before it exits).
    func testSigtermMidWriteKeepsEverything() throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/sqlite3") else { throw XCTSkip("sqlite3 is not installed") }
        let port = Self.closedPort()
        let script = #"""
            "$1" record --journal "$2/j.db" --no-capture --port "$3" 2>"$2/err" & p=$!
            sleep 3; python3 -c "$4" 3000 "$3" 0.001 > "$2/times" & b=$!
            sleep 2; date +%s.%N > "$2/killed"; kill -TERM $p; wait $p; echo "rc=$?"; wait $b
            """#
        let r = try CLI.run(["-c", script, "sh", CLI.binary, dir, String(port), Self.connects], exe: "/bin/sh", timeout: 90)
        let err = (try? String(contentsOfFile: dir + "/err", encoding: .utf8)) ?? ""
        XCTAssertTrue(r.stdout.contains("rc=0"), r.stdout + err)
        let killed = try XCTUnwrap(Double(try String(contentsOfFile: dir + "/killed", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)))
        let times = try String(contentsOfFile: dir + "/times", encoding: .utf8).split(separator: "\n").compactMap { Double($0) }
        let before = times.filter { $0 < killed - 1 }.count
        XCTAssertGreaterThan(before, 100)
        XCTAssertEqual(try sqlite(dir + "/j.db", "PRAGMA integrity_check"), "ok")
        let kept = Int(try sqlite(dir + "/j.db", "SELECT count(*) FROM rst_event WHERE sport = \(port) AND direction = 'sent' "
                                   + "AND time_us < \(Int64((killed - 1) * 1e6))")) ?? 0
        XCTAssertGreaterThanOrEqual(kept, before, "resets before the last second were lost at SIGTERM: \(err)")
        XCTAssertEqual(try sqlite(dir + "/j.db", "SELECT count(*) FROM note WHERE kind = 'stop'"), "1")
    }
}
