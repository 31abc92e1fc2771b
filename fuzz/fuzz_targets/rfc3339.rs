//! RFC 3339 parsing (the `since`/`until` query parameters): no panic on any input; whatever parses
//! is an instant the worker can show again as RFC 3339 (`format_ms`), and that text parses back
//! to the same instant. Every instant in years 0000–9999 survives format → parse.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use oakauth_core::time::{format_ms, parse_rfc3339, start_of_day};

/// 0000-01-01T00:00:00.000Z and 9999-12-31T23:59:59.999Z.
const MIN_MS: i64 = -62_167_219_200_000;
const MAX_MS: i64 = 253_402_300_799_999;

#[derive(Arbitrary, Debug)]
struct Input<'a> {
    text: &'a str,
    ms: i64,
}

fuzz_target!(|input: Input| {
    if let Ok(ms) = parse_rfc3339(input.text) {
        let shown = format_ms(ms);
        assert_eq!(parse_rfc3339(&shown).ok(), Some(ms), "{:?} -> {ms} -> {shown:?}", input.text);
        let day = start_of_day(ms);
        assert!(day <= ms && ms - day < 86_400_000);
    }

    let ms = MIN_MS + input.ms.rem_euclid(MAX_MS - MIN_MS + 1);
    let shown = format_ms(ms);
    assert_eq!(shown.len(), 24, "{shown}");
    assert_eq!(parse_rfc3339(&shown).ok(), Some(ms), "{ms} -> {shown:?}");
});
