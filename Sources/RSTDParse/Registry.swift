import RSTDCore
/// The parsers a check may name. One line per parser file in Parse/.
extension Parsers {
    static let registered: [any OutputParser.Type] = [
        SysctlParser.self,
        ProcNetstatParser.self,
        SockstatParser.self,
        SSListenersParser.self,
        SSSocketsParser.self,
        NftJSONParser.self,
        IptablesSaveParser.self,
        IPAddrParser.self,
        IPNeighParser.self,
        ArpingParser.self,
        KernelLogParser.self,
        AppLogParser.self,
        CounterAgeParser.self,
        ConntrackStatParser.self,
    ]
}
