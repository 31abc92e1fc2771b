//! What counts as reasoning.
//!
//! Reasoning is "real" when, after whitespace, control characters and invisible characters
//! (zero-width spaces and joiners, bidi marks, variation selectors, tag characters, the BOM, ...)
//! are ignored, at least one letter or digit is left. Empty text, whitespace, `...` or a string of
//! zero-width spaces is not reasoning.

/// Whether `text` is real reasoning under the rule above.
pub fn is_real_reasoning(text: &str) -> bool {
    text.chars().any(|c| !is_invisible(c) && c.is_alphanumeric())
}

/// Like [`is_real_reasoning`], for an optional field.
pub fn provided(reasoning: Option<&str>) -> bool {
    reasoning.is_some_and(is_real_reasoning)
}

/// Characters that render as nothing. `char::is_alphanumeric` is already false for most of them;
/// the list also covers the few that count as "alphabetic" in Unicode but show nothing.
pub fn is_invisible(c: char) -> bool {
    matches!(c,
        '\u{00AD}'               // soft hyphen
        | '\u{034F}'             // combining grapheme joiner
        | '\u{061C}'             // arabic letter mark
        | '\u{115F}' | '\u{1160}' // hangul fillers
        | '\u{17B4}' | '\u{17B5}'
        | '\u{180B}'..='\u{180F}' // mongolian variation selectors, vowel separator
        | '\u{200B}'..='\u{200F}' // zero-width space/joiners, lrm, rlm
        | '\u{202A}'..='\u{202E}' // bidi embeddings
        | '\u{2060}'..='\u{206F}' // word joiner, invisible operators, bidi isolates
        | '\u{3164}'             // hangul filler
        | '\u{FE00}'..='\u{FE0F}' // variation selectors
        | '\u{FEFF}'             // byte order mark
        | '\u{FFA0}'             // halfwidth hangul filler
        | '\u{E0000}'..='\u{E007F}' // tags
        | '\u{E0100}'..='\u{E01EF}' // variation selectors supplement
    ) || c.is_whitespace()
        || c.is_control()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hard_reasoning_rejects_empty_text() {
        assert!(!is_real_reasoning(""));
        assert!(!provided(None));
        assert!(!provided(Some("")));
    }

    #[test]
    fn hard_reasoning_rejects_whitespace_only_text() {
        assert!(!is_real_reasoning("   \t\n\r \u{00A0}\u{3000}\u{2003}"));
    }

    #[test]
    fn hard_reasoning_rejects_invisible_only_text() {
        assert!(!is_real_reasoning("\u{200B}\u{200C}\u{200D}\u{2060}\u{FEFF}"));
        assert!(!is_real_reasoning("\u{3164}\u{115F}\u{FFA0}"));
        assert!(!is_real_reasoning("\u{E0041}\u{E0042}"));
        assert!(!is_real_reasoning(" \u{200B} \u{FE0F} "));
    }

    #[test]
    fn punctuation_alone_is_not_reasoning() {
        assert!(!is_real_reasoning("..."));
        assert!(!is_real_reasoning("?!-_"));
    }

    #[test]
    fn words_in_any_script_are_reasoning() {
        assert!(is_real_reasoning("Clean up the temp files the user asked about"));
        assert!(is_real_reasoning("  user asked  "));
        assert!(is_real_reasoning("删除临时文件"));
        assert!(is_real_reasoning("\u{200B}x\u{200B}"));
        assert!(is_real_reasoning("42"));
    }
}
