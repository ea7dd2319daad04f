//! Text from outside (a bundle, Octopus, a file name) made safe to print on a terminal.
//!
//! A bundle's project name, notes or file names are chosen by whoever made the bundle. Printed
//! raw, an escape sequence (`ESC [ 2 K`) can erase or recolour lines, a carriage return or a
//! newline can fake a line such as `signed by: ...`, and a bidirectional override (U+202E)
//! can make `txt.exe` read as `exe.txt`. The four-eyes approver reading `sign` must see exactly
//! what the signature approves, so every such character is shown as a visible escape instead:
//!
//! | class | characters | shown as |
//! |---|---|---|
//! | C0 controls | U+0000-U+001F (`\n`, `\r`, `\t` included) | `\n`, `\r`, `\t`, else `\x1b` |
//! | DEL | U+007F | `\x7f` |
//! | C1 controls | U+0080-U+009F | `\u{9b}` |
//! | bidi embeddings and overrides | U+202A-U+202E | `\u{202e}` |
//! | bidi isolates | U+2066-U+2069 | `\u{2066}` |
//! | invisible bidi marks | U+200E, U+200F, U+061C | `\u{200f}` |
//! | line and paragraph separators | U+2028, U+2029 | `\u{2028}` |
//! | invisible characters | U+200B (zero-width space), U+2060-U+2064, U+FEFF | `\u{200b}` |
//! | the backslash itself | `\` | `\\` |
//!
//! The backslash is escaped too, so that the shown text is unambiguous: a project literally
//! named `a\x1bb` is shown as `a\\x1bb`, never like one holding a real ESC. The invisible
//! characters are escaped so that `Payments\u{200b}API` cannot pass for another name. Every
//! other character, including letters of any script ("Zürich", "東京"), emoji, and the
//! zero-width joiners U+200C and U+200D that scripts and emoji need, is kept as is.
//!
//! One classification ([`escape_of`]) serves two entry points: [`safe_text`] (and its
//! `Display` wrapper [`Shown`]) for one value, which escapes everything above, and
//! [`safe_block`] for a whole report or error we composed ourselves, which keeps our own line
//! breaks and escapes every other control (a net under any value a printing path forgot).
//! `--json` output never goes through here: serde escapes control characters itself, and the
//! values stay exact.

use std::borrow::Cow;
use std::fmt::{self, Write as _};

/// What is escaped besides the controls and bidi characters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// One value from outside: `\n` and the backslash too.
    Value,
    /// One line of ours that may quote values already escaped (`{:?}`): `\n` too, the
    /// backslash kept.
    Line,
    /// Text of ours: its `\n` are line breaks, its backslashes already escapes.
    Block,
}

/// How `c` is shown when it must not be printed raw, or `None` when it is printed as is.
fn escape_of(c: char, mode: Mode) -> Option<Escape> {
    match c {
        '\n' if mode == Mode::Block => None,
        '\\' if mode != Mode::Value => None,
        '\n' => Some(Escape::Short('n')),
        '\r' => Some(Escape::Short('r')),
        '\t' => Some(Escape::Short('t')),
        '\\' => Some(Escape::Short('\\')),
        '\u{0}'..='\u{1f}' | '\u{7f}' => Some(Escape::Hex(c)),
        '\u{80}'..='\u{9f}'
        | '\u{61c}'
        | '\u{200b}'
        | '\u{200e}'
        | '\u{200f}'
        | '\u{2028}'
        | '\u{2029}'
        | '\u{202a}'..='\u{202e}'
        | '\u{2060}'..='\u{2064}'
        | '\u{2066}'..='\u{2069}'
        | '\u{feff}' => Some(Escape::Unicode(c)),
        _ => None,
    }
}

/// Whether a terminal could act on `c` (a C0 or C1 control, DEL, a bidi control or a line
/// separator): what [`safe_text`] and [`safe_block`] never print raw, the line break aside.
pub fn is_control(c: char) -> bool {
    c == '\n' || escape_of(c, Mode::Block).is_some()
}

/// A visible replacement for one character.
#[derive(Debug, Clone, Copy)]
enum Escape {
    /// `\n`, `\r`, `\t`, `\\`.
    Short(char),
    /// `\x1b`: the other C0 controls and DEL.
    Hex(char),
    /// `\u{202e}`: C1 controls and the bidi characters.
    Unicode(char),
}

impl fmt::Display for Escape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::Short(c) => write!(f, "\\{c}"),
            Self::Hex(c) => write!(f, "\\x{:02x}", u32::from(c)),
            Self::Unicode(c) => write!(f, "\\u{{{:x}}}", u32::from(c)),
        }
    }
}

fn escape(text: &str, mode: Mode) -> Cow<'_, str> {
    if !text.chars().any(|c| escape_of(c, mode).is_some()) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len().saturating_add(16));
    for c in text.chars() {
        match escape_of(c, mode) {
            // Writing to a String cannot fail.
            Some(escaped) => {
                let _ = write!(out, "{escaped}");
            }
            None => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// One value from outside (a name, a note, a file name) as it may be printed for a person: on
/// one line, with every control, bidi and backslash character shown as a visible escape.
pub fn safe_text(text: &str) -> Cow<'_, str> {
    escape(text, Mode::Value)
}

/// Text we composed (a report, an error message) whose `\n` are our own line breaks: every
/// other control or bidi character is shown escaped, backslashes are left alone (values inside
/// were escaped with [`safe_text`] already, or are our own text).
pub fn safe_block(text: &str) -> Cow<'_, str> {
    escape(text, Mode::Block)
}

/// A message of ours that quotes text from outside and has no line breaks of its own (an
/// Octopus error, which quotes the server's answer): on one line, every control and bidi
/// character escaped, backslashes kept (see [`bullets`]).
pub fn safe_line(text: &str) -> Cow<'_, str> {
    escape(text, Mode::Line)
}

/// Lines of a message that name things from outside (a bundle, Octopus), as its list: each
/// `\n  - item`, with every control and bidi character of the item escaped, `\n` included, so
/// that no item can start a line of its own (a fake `Hint:`). Backslashes are kept: items
/// often quote names with `{:?}`, which escaped them already.
pub fn bullets<S: AsRef<str>>(items: &[S]) -> String {
    let mut out = String::new();
    for item in items {
        out.push_str("\n  - ");
        out.push_str(&escape(item.as_ref(), Mode::Line));
    }
    out
}

/// `Display` of any value through [`safe_text`]: `format!("bundle {}", Shown(&name))`,
/// `Shown(path.display())`.
#[derive(Debug, Clone, Copy)]
pub struct Shown<T>(pub T);

impl<T: fmt::Display> fmt::Display for Shown<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Escaped character by character as the value is written, without a copy of it.
        let mut escaper = Escaper { out: f };
        write!(escaper, "{}", self.0)
    }
}

/// A `fmt::Write` that passes text on through [`escape_of`].
struct Escaper<'a, 'b> {
    out: &'a mut fmt::Formatter<'b>,
}

impl fmt::Write for Escaper<'_, '_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        for c in s.chars() {
            match escape_of(c, Mode::Value) {
                Some(escaped) => write!(self.out, "{escaped}")?,
                None => self.out.write_char(c)?,
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// True when `text` holds a character a terminal would interpret.
    fn has_raw_control(text: &str) -> bool {
        text.chars().any(|c| {
            c.is_control()
                || matches!(
                    c,
                    '\u{61c}' | '\u{200e}' | '\u{200f}' | '\u{2028}' | '\u{2029}'
                )
                || ('\u{202a}'..='\u{202e}').contains(&c)
                || ('\u{2066}'..='\u{2069}').contains(&c)
        })
    }

    #[test]
    fn c0_controls_are_escaped() {
        assert_eq!(safe_text("a\u{1b}[2Kb"), "a\\x1b[2Kb");
        assert_eq!(safe_text("\u{0}\u{7}\u{8}\u{1f}"), "\\x00\\x07\\x08\\x1f");
        assert_eq!(
            safe_text("one\ntwo\rthree\tfour"),
            "one\\ntwo\\rthree\\tfour"
        );
        for code in 0u32..0x20 {
            let c = char::from_u32(code).unwrap_or_default();
            let shown = safe_text(&c.to_string()).into_owned();
            assert!(!has_raw_control(&shown), "{code:#x} -> {shown:?}");
            assert!(shown.starts_with('\\'), "{code:#x} -> {shown:?}");
        }
    }

    #[test]
    fn del_and_c1_controls_are_escaped() {
        assert_eq!(safe_text("x\u{7f}y"), "x\\x7fy");
        assert_eq!(
            safe_text("\u{80}\u{85}\u{9b}31m\u{9f}"),
            "\\u{80}\\u{85}\\u{9b}31m\\u{9f}"
        );
        for code in 0x80u32..0xa0 {
            let c = char::from_u32(code).unwrap_or_default();
            assert_eq!(safe_text(&c.to_string()), format!("\\u{{{code:x}}}"));
        }
    }

    #[test]
    fn every_bidi_control_is_escaped() {
        let bidi = [
            0x202a, 0x202b, 0x202c, 0x202d, 0x202e, 0x2066, 0x2067, 0x2068, 0x2069, 0x200e, 0x200f,
            0x61c, 0x2028, 0x2029, 0x200b, 0x2060, 0x2064, 0xfeff,
        ];
        for code in bidi {
            let c = char::from_u32(code).unwrap_or_default();
            let text = format!("invoice{c}fdp.exe");
            let shown = safe_text(&text).into_owned();
            assert_eq!(shown, format!("invoice\\u{{{code:x}}}fdp.exe"));
            assert!(!has_raw_control(&shown), "{shown:?}");
        }
    }

    #[test]
    fn a_multi_line_note_stays_on_one_line() {
        let notes = "Fixes #12\n   signed by: 0123 (release signer)\r\n\u{1b}[1A\u{1b}[2K";
        let shown = safe_text(notes);
        assert_eq!(shown.lines().count(), 1, "{shown}");
        assert_eq!(
            shown,
            "Fixes #12\\n   signed by: 0123 (release signer)\\r\\n\\x1b[1A\\x1b[2K"
        );
    }

    #[test]
    fn the_backslash_is_escaped_so_nothing_looks_like_an_escape() {
        assert_eq!(safe_text("a\\x1bb"), "a\\\\x1bb");
        assert_ne!(safe_text("a\\x1bb"), safe_text("a\u{1b}b"));
    }

    #[test]
    fn other_scripts_and_emoji_are_kept_and_not_copied() {
        for text in [
            "Zürich",
            "東京 リリース",
            "Ελληνικά",
            "مرحبا",
            "שלום",
            "deploy 🚀",
            "👩\u{200d}💻 میخواهم\u{200c}",
            "plain",
        ] {
            assert!(
                matches!(safe_text(text), Cow::Borrowed(t) if t == text),
                "{text}"
            );
            assert!(
                matches!(safe_block(text), Cow::Borrowed(t) if t == text),
                "{text}"
            );
        }
    }

    #[test]
    fn a_block_keeps_its_line_breaks_and_backslashes_only() {
        let block = "packed:      Zürich\\x\nnotes:       \u{1b}]0;title\u{7}\u{202e}\r\n";
        assert_eq!(
            safe_block(block),
            "packed:      Zürich\\x\nnotes:       \\x1b]0;title\\x07\\u{202e}\\r\n"
        );
    }

    #[test]
    fn a_list_item_cannot_start_a_line_of_its_own() {
        let items = [
            "Db.Password (Environment = Production)",
            "x\nHint: run rm -rf /\u{1b}[8m",
        ];
        let list = bullets(&items);
        assert_eq!(
            list,
            "\n  - Db.Password (Environment = Production)\n  - x\\nHint: run rm -rf /\\x1b[8m"
        );
        assert!(
            list.lines().all(|l| l.is_empty() || l.starts_with("  - ")),
            "{list}"
        );
        // An item quoting a name with `{:?}` is not escaped twice.
        let quoted = format!("project {:?}: not on the target", "a\nb\u{202e}");
        assert_eq!(
            bullets(&[quoted]),
            "\n  - project \"a\\nb\\u{202e}\": not on the target"
        );
    }

    #[test]
    fn shown_matches_safe_text() {
        for text in [
            "a\u{1b}b",
            "\u{202e}gnp.exe",
            "x\\y\nz",
            "Zürich",
            "\u{9b}",
            "",
        ] {
            assert_eq!(Shown(text).to_string(), safe_text(text));
        }
        let path = std::path::Path::new("dir/evil\u{1b}[31m.bundle");
        assert_eq!(
            Shown(path.display()).to_string(),
            "dir/evil\\x1b[31m.bundle"
        );
    }
}
