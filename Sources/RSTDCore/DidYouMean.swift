import Foundation

/// "Did you mean …?" hints for a mistyped name (a fact key, a question, a step, a command, a check):
/// the closest candidate by edit distance, when it is close enough to be a plausible typo.
package enum DidYouMean {
    /// The closest candidate within max(2, a quarter of the name's length) edits; ties keep the first.
    package static func nearest(_ name: String, in candidates: [String]) -> String? {
        var best: (name: String, distance: Int)?
        for c in candidates {
            let d = editDistance(name, c)
            if d <= max(2, name.count / 4), d < best?.distance ?? .max { best = (c, d) }
        }
        return best?.name
    }

    /// " Did you mean `x`?" for a message, or "" when no candidate is close.
    package static func hint(_ name: String, in candidates: [String]) -> String {
        nearest(name, in: candidates).map { " Did you mean `\($0)`?" } ?? ""
    }

    /// Levenshtein distance over UTF-8 bytes.
    package static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a.utf8), b = Array(b.utf8)
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var prev = Array(0...b.count)
        var cur = prev
        for i in 1...a.count {
            cur[0] = i
            for j in 1...b.count {
                cur[j] = Swift.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            swap(&prev, &cur)
        }
        return prev[b.count]
    }
}
