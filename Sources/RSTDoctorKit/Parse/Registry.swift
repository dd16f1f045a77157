/// The parsers a check may name. One line per parser file in Parse/.
extension Parsers {
    static let registered: [any OutputParser.Type] = [
        SysctlParser.self,
    ]
}
