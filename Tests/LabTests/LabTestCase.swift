import Foundation
import XCTest

/// A lab test that runs the rstdoctor binary: skips with the reason when the lab (root, namespaces,
/// the tools) or the binary is missing, makes a fresh `Lab` for each test and tears it down after.
class LabTestCase: XCTestCase {
    var lab: Lab?
    var binary = ""

    override func setUpWithError() throws {
        if let reason = Lab.unavailableReason() { throw XCTSkip(reason) }
        guard let bin = Diagnose.binary() else {
            throw XCTSkip("the rstdoctor binary is not built: run `swift build --product rstdoctor` or set RSTDOCTOR_BIN")
        }
        binary = bin
        lab = try Lab()
    }

    override func tearDown() {
        lab?.teardown()
        lab = nil
    }
}
