//! Lines in the TOML files operators write (carry files, mapping files, secrets files): a
//! refusal names the line, never quotes the file (a secrets file's values must not show).

/// The 1-based line of byte `offset` in `text` (the last line for an offset past the end).
pub fn line_of(text: &str, offset: usize) -> usize {
    text.get(..offset)
        .unwrap_or(text)
        .bytes()
        .filter(|&b| b == b'\n')
        .count()
        .saturating_add(1)
}

/// `line N: ` for a TOML parse error of `text` that knows where it is, else nothing: the
/// prefix of a refusal, before the error's own message.
pub fn error_line(text: &str, error: &toml::de::Error) -> String {
    error
        .span()
        .map(|span| format!("line {}: ", line_of(text, span.start)))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_count_from_one() {
        assert_eq!(line_of("a\nb\nc", 0), 1);
        assert_eq!(line_of("a\nb\nc", 2), 2);
        assert_eq!(line_of("a\nb\nc", 99), 3);
    }

    #[test]
    fn a_parse_error_names_its_line() {
        let text = "a = 1\nb = \nc = 3\n";
        let Err(error) = toml::from_str::<toml::Table>(text) else {
            panic!("the text does not parse");
        };
        assert_eq!(error_line(text, &error), "line 2: ");
    }
}
