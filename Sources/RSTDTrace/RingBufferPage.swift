import Foundation

/// The layout of one page of the kernel's trace ring buffer as `trace_pipe_raw` hands it out
/// (kernel/trace/ring_buffer.c, `struct buffer_data_page`; include/linux/ring_buffer.h,
/// `struct ring_buffer_event`), read from tracefs' own description of it (`events/header_page`,
/// `events/header_event`) so that a kernel laid out otherwise is noticed, not misread.
///
/// A page: a time stamp (the trace clock at its first event), a commit word (bytes of event data,
/// with the two top bits of its 32-bit value saying events were lost before it), then the events.
/// An event: a 32-bit header (`type_len` in its low 5 bits, `time_delta` in the other 27), then:
/// for type_len 1…28 that many 4-byte words of payload; for 0 a 4-byte length (which counts
/// itself), then the payload; 29 padding (time_delta 0: the rest of the page is empty; else a
/// discarded event whose length is in the next word); 30 a time extension (the next word holds
/// bits 27 and up of a delta); 31 an absolute time stamp (the same split, plus the top bits the
/// page's time stamp carries).
package struct RingBufferLayout: Sendable, Hashable {
    package var timestampOffset: Int
    package var commitOffset: Int
    package var commitSize: Int
    package var dataOffset: Int

    /// The layout of the tracefs root's `events/header_page` and `events/header_event`; nil with the
    /// reason when either says something other than the layout this reader knows.
    package static func parse(headerPage: String, headerEvent: String) -> (RingBufferLayout?, String) {
        var fields: [String: EventFormat.Field] = [:]
        for raw in headerPage.split(whereSeparator: \.isNewline) {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.hasPrefix("field:"), let f = EventFormat.parseField(line) { fields[f.name] = f }
        }
        guard let ts = fields["timestamp"], ts.size == 8, let commit = fields["commit"], commit.size == 8 || commit.size == 4,
              let data = fields["data"] else {
            return (nil, "events/header_page does not describe a time stamp, commit and data")
        }
        // `type_len : 5 bits` and so on, compared without their spacing.
        let words = headerEvent.split(whereSeparator: \.isWhitespace).joined(separator: " ")
        for expected in ["type_len : 5 bits", "time_delta : 27 bits", "padding : type == 29", "time_extend : type == 30",
                         "type_len == 28"] where !words.contains(expected) {
            return (nil, "events/header_event does not say `\(expected)`")
        }
        #if _endian(little)
        return (RingBufferLayout(timestampOffset: ts.offset, commitOffset: commit.offset, commitSize: commit.size,
                                 dataOffset: data.offset), "")
        #else
        return (nil, "the binary reader knows little-endian ring-buffer pages only")
        #endif
    }

    /// What a page held.
    package struct PageSummary: Sendable, Hashable {
        package var events = 0
        /// The kernel overwrote or dropped events before this page (the commit word's flag).
        package var missedBefore = false
        /// The page did not parse to its end (a length pointing past it, an unknown type).
        package var malformed = false
    }

    static let typePadding: UInt32 = 29, typeTimeExtend: UInt32 = 30, typeTimeStamp: UInt32 = 31
    static let timeShift = 27
    /// The top five bits of a time stamp, which an absolute time-stamp record leaves out.
    static let timeMSB: UInt64 = 0xf8 << 56

    /// Calls `body` with the time stamp (trace-clock units) and payload of every data event of `page`.
    /// Bounded by the page: a length that points past it ends the page (marked malformed).
    package func events(in page: UnsafeRawBufferPointer, _ body: (UInt64, UnsafeRawBufferPointer) -> Void) -> PageSummary {
        var summary = PageSummary()
        guard page.count >= dataOffset, page.count >= commitOffset + commitSize, page.count >= timestampOffset + 8 else {
            summary.malformed = true
            return summary
        }
        var time = page.loadUnaligned(fromByteOffset: timestampOffset, as: UInt64.self)
        let commitWord = commitSize == 8 ? page.loadUnaligned(fromByteOffset: commitOffset, as: UInt64.self)
            : UInt64(page.loadUnaligned(fromByteOffset: commitOffset, as: UInt32.self))
        // Bit 31: events were missed before this page; bit 30: their count is stored after the data.
        summary.missedBefore = commitWord & (1 << 31) != 0
        let length = Int(commitWord & ((1 << 30) - 1))
        let end = dataOffset + length
        guard end <= page.count else {
            summary.malformed = true
            return summary
        }
        var pos = dataOffset
        func word(_ at: Int) -> UInt32 { page.loadUnaligned(fromByteOffset: at, as: UInt32.self) }
        while pos + 4 <= end {
            let header = word(pos)
            let type = header & 31
            let delta = UInt64(header >> 5)
            switch type {
            case Self.typePadding:
                // No delta: the rest of the page is padding. Otherwise a discarded event, skipped
                // without advancing the clock (as the kernel's reader does).
                if delta == 0 { return summary }
                guard pos + 8 <= end else { summary.malformed = true; return summary }
                let size = Int(word(pos + 4)) + 4
                guard size >= 8 else { summary.malformed = true; return summary }
                pos += size
            case Self.typeTimeExtend, Self.typeTimeStamp:
                guard pos + 8 <= end else { summary.malformed = true; return summary }
                let value = UInt64(word(pos + 4)) << Self.timeShift + delta
                if type == Self.typeTimeExtend {
                    time &+= value
                } else {
                    // Absolute: the record keeps 59 bits; the page's time stamp has the top ones.
                    var absolute = value | (time & Self.timeMSB)
                    if time & Self.timeMSB != 0 && absolute < time { absolute &+= 1 << 59 }
                    time = absolute
                }
                pos += 8
            default:
                time &+= delta
                let payloadStart: Int, payloadSize: Int
                if type == 0 {
                    guard pos + 8 <= end else { summary.malformed = true; return summary }
                    let counted = Int(word(pos + 4))
                    guard counted >= 4 else { summary.malformed = true; return summary }
                    payloadStart = pos + 8
                    payloadSize = counted - 4
                } else {
                    payloadStart = pos + 4
                    payloadSize = Int(type) * 4
                }
                guard payloadStart + payloadSize <= end else { summary.malformed = true; return summary }
                body(time, UnsafeRawBufferPointer(rebasing: page[payloadStart..<(payloadStart + payloadSize)]))
                summary.events += 1
                pos = payloadStart + payloadSize
            }
        }
        return summary
    }
}
