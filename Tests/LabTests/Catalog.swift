import Foundation

/// Every scenario of the lab, in the order the bench prints them.
enum Catalog {
    static let all: [any Scenario] = [
        Control(),
        NoListener(),
        NoListener(v6: true),
        SynConflict(),
        AcceptOverflow(abort: true),
        AcceptOverflow(abort: false),
        HalfOpen(serviceBack: false),
        HalfOpen(serviceBack: true),
        FirewallReset(onRouter: false),
        FirewallReset(onRouter: true),
        FirewallReset(onRouter: true, v6: true),
        FirewallReset(onRouter: true, clientView: true),
        FirewallReset(onRouter: true, v6: true, clientView: true),
        FirewallReset(onRouter: false, clientView: true),
        TimeWait(rfc1337: false),
        TimeWait(rfc1337: true),
        ApplicationAbort(),
        ApplicationAbort(v6: true),
        IdleTimeout(),
        UnreadData(),
        UnreadData(v6: true),
        DuplicateIP(),
        BusyPast(),
        ContainerHost(),
        ConntrackInvalid(),
        ConntrackInvalid(v6: true),
        ConntrackInvalid(fix: .liberal),
        ConntrackInvalid(fix: .dropInvalid),
        ConntrackInvalid(place: "s"),
        ConntrackInvalid(place: "c"),
        ConntrackFull(),
        SynFlood(cookies: true),
        SynFlood(cookies: false),
        SynFlood(cookies: true, v6: true),
        SynFlood(cookies: false, v6: true),
        PawsEstab(),
        PawsActive(),
    ]

    static func named(_ id: String) -> (any Scenario)? { all.first { $0.id == id } }
}
