//! Reasoning classification: no panic; text made only of whitespace, control characters,
//! invisible (default-ignorable) characters and punctuation is never reasoning; adding or removing
//! such characters never changes the answer; adding one letter always makes it reasoning.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use oakauth_core::reasoning::{is_invisible, is_real_reasoning, provided};

/// Unicode's Default_Ignorable_Code_Point (DerivedCoreProperties.txt), an oracle independent of
/// the hand-written list in `reasoning::is_invisible`.
fn default_ignorable(c: char) -> bool {
    matches!(c as u32,
        0x00AD | 0x034F | 0x061C | 0x115F..=0x1160 | 0x17B4..=0x17B5 | 0x180B..=0x180F
        | 0x200B..=0x200F | 0x202A..=0x202E | 0x2060..=0x206F | 0x3164 | 0xFE00..=0xFE0F | 0xFEFF
        | 0xFFA0 | 0xFFF0..=0xFFF8 | 0x1BCA0..=0x1BCA3 | 0x1D173..=0x1D17A | 0xE0000..=0xE0FFF)
}

fn filler(c: char) -> bool {
    default_ignorable(c) || c.is_whitespace() || c.is_control() || c.is_ascii_punctuation()
}

#[derive(Arbitrary, Debug)]
struct Input<'a> {
    text: &'a str,
    chars: Vec<char>,
    letter: u8,
}

fuzz_target!(|input: Input| {
    let real = is_real_reasoning(input.text);
    assert_eq!(provided(Some(input.text)), real);

    // The oracle: some character that is a letter or digit and not default-ignorable.
    let oracle = input.text.chars().any(|c| c.is_alphanumeric() && !default_ignorable(c));
    assert_eq!(real, oracle, "{:?}", input.text);

    // Only filler: never reasoning.
    let fill: String = input.chars.iter().copied().filter(|c| filler(*c)).collect();
    assert!(!is_real_reasoning(&fill), "{fill:?}");
    for c in fill.chars() {
        if default_ignorable(c) {
            assert!(is_invisible(c) || !c.is_alphanumeric(), "{c:?}");
        }
    }

    // Interleaving filler does not change the answer; stripping it does not either.
    let mut mixed = String::new();
    let mut fills = fill.chars();
    for c in input.text.chars() {
        mixed.push(c);
        if let Some(f) = fills.next() {
            mixed.push(f);
        }
    }
    assert_eq!(is_real_reasoning(&mixed), real, "{mixed:?}");
    let stripped: String = input.text.chars().filter(|c| !filler(*c)).collect();
    assert_eq!(is_real_reasoning(&stripped), real, "{stripped:?}");

    // One ASCII letter or digit among filler is reasoning.
    let letter = b"abcXYZ0123456789"[(input.letter % 16) as usize] as char;
    let with_letter = format!("{fill}{letter}{fill}");
    assert!(is_real_reasoning(&with_letter), "{with_letter:?}");
});
