//! Text from a result bundle made inert for the release notes (`note.rs`).
//!
//! A result bundle is signed by the secure side's result key, but its text (zone, environment,
//! tenant, step names in a waiting reason) is still treated as hostile: it goes into a field
//! that Octopus renders as Markdown for every developer, and that `export` reads back. So each
//! table cell is reduced to plain text that
//!
//! - stays on one line of one cell: control characters (C0 with line breaks and tabs, DEL, C1)
//!   and the Unicode line and paragraph separators (U+2028, U+2029) become a space, and the bidirectional overrides and isolates (U+202A-U+202E,
//!   U+2066-U+2069) become U+FFFD, so nothing can reorder what people read;
//! - cannot start Markdown or HTML: every ASCII character that CommonMark or GitHub-flavoured
//!   Markdown gives a meaning to (`` \ ` * _ [ ] ( ) { } # ! < > & | ~ " + ^ $ ``) is written as
//!   a numeric character reference (`&#60;`), which renders as the character itself and is
//!   never markup. A `|` written so does not split the cell (GFM splits rows before it decodes
//!   references), `<!--` and `-->` cannot open or close a comment, so neither marker line of
//!   the block can appear in a cell;
//! - is at most [`MAX_CELL_CHARS`] characters long (then ends in `…`), so a 100 KiB name
//!   cannot flood the notes.

/// The longest cell, in characters, before it is cut (with `…`).
pub const MAX_CELL_CHARS: usize = 200;

/// The ASCII characters written as numeric character references.
const MARKUP: &[char] = &[
    '\\', '`', '*', '_', '[', ']', '(', ')', '{', '}', '#', '!', '<', '>', '&', '|', '~', '"', '+',
    '^', '$',
];

/// `text` as one inert table cell (see the module documentation).
pub fn cell(text: &str) -> String {
    let mut out = String::new();
    for (count, c) in text.chars().enumerate() {
        if count >= MAX_CELL_CHARS {
            out.push('…');
            break;
        }
        match c {
            c if c.is_control() || c == '\u{2028}' || c == '\u{2029}' => out.push(' '),
            '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' => out.push('\u{FFFD}'),
            c if MARKUP.contains(&c) => {
                out.push_str("&#");
                out.push_str(&u32::from(c).to_string());
                out.push(';');
            }
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_becomes_character_references_and_plain_text_stays() {
        assert_eq!(cell("PCI Staging"), "PCI Staging");
        assert_eq!(
            cell("step 'Sign-off', 2/3: ok."),
            "step 'Sign-off', 2/3: ok."
        );
        assert_eq!(cell("a|b"), "a&#124;b");
        assert_eq!(cell("<!-- x -->"), "&#60;&#33;-- x --&#62;");
        assert_eq!(
            cell("[x](javascript:alert(1))"),
            "&#91;x&#93;&#40;javascript:alert&#40;1&#41;&#41;"
        );
        assert_eq!(
            cell("`code` **b** #h"),
            "&#96;code&#96; &#42;&#42;b&#42;&#42; &#35;h"
        );
        assert_eq!(cell("&amp;"), "&#38;amp;");
    }

    #[test]
    fn line_breaks_controls_and_bidi_overrides_are_neutralised() {
        assert_eq!(cell("a\nb\r\nc\td\u{7f}e\u{85}f"), "a b  c d e f");
        assert_eq!(cell("a\u{2028}b\u{2029}c\u{b}d\u{c}e"), "a b c d e");
        assert_eq!(cell("ab\u{202E}cd\u{2066}"), "ab\u{FFFD}cd\u{FFFD}");
        assert_eq!(cell("\u{1b}[31mred"), " &#91;31mred");
    }

    #[test]
    fn long_text_is_cut() {
        let long = "é".repeat(100 * 1024);
        let out = cell(&long);
        assert_eq!(out.chars().count(), MAX_CELL_CHARS + 1);
        assert!(out.ends_with('…'));
        assert_eq!(
            cell(&"x".repeat(MAX_CELL_CHARS)),
            "x".repeat(MAX_CELL_CHARS)
        );
    }
}
