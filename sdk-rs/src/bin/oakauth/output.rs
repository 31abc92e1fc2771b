//! Output: JSON for `--json`, else plain-text tables and key/value blocks for people.

use std::fmt::Write as _;
use std::io::IsTerminal;
use std::sync::OnceLock;

use serde::Serialize;

/// How to print: `--json`, or text for people.
pub struct Out {
    pub json: bool,
}

impl Out {
    pub fn new(json: bool) -> Self {
        Out { json }
    }

    /// Prints `value` as one line of JSON, as `logs --follow --json` does.
    pub fn json_line<T: Serialize>(&self, value: &T) {
        println!("{}", serde_json::to_string(value).expect("wire types serialize"));
    }

    /// Prints `value` as pretty JSON, or as `human` renders it.
    pub fn print<T: Serialize>(&self, value: &T, human: impl FnOnce(&T) -> String) {
        if self.json {
            println!("{}", serde_json::to_string_pretty(value).expect("wire types serialize"));
        } else {
            print!("{}", human(value));
        }
    }

    /// Prints a whole list as a JSON array, or for people as a table with a row per item
    /// (`empty` when there is none).
    pub fn list<T: Serialize>(
        &self,
        all: &[T],
        empty: &str,
        headers: &[&'static str],
        row: impl Fn(&T) -> Vec<String>,
    ) {
        self.print(&all, |all| {
            if all.is_empty() {
                return format!("{empty}\n");
            }
            let mut t = Table::new(headers);
            for item in all.iter() {
                t.row(row(item));
            }
            t.render()
        });
    }

    /// Prints one page of a long list: the API's page as it came for `--json` (with its
    /// `next_cursor`), else a table of `items` (`No {what} match.` when there is none) and, when
    /// more match, a note on stderr.
    pub fn page<P: Serialize, T>(
        &self,
        page: &P,
        items: &[T],
        more: bool,
        what: &str,
        headers: &[&'static str],
        row: impl Fn(&T) -> Vec<String>,
    ) {
        if self.json {
            self.print(page, |_| String::new());
            return;
        }
        if items.is_empty() {
            println!("No {what} match.");
            return;
        }
        let mut t = Table::new(headers);
        for item in items {
            t.row(row(item));
        }
        print!("{}", t.render());
        if more {
            eprintln!("(more {what} match: --json shows next_cursor, --cursor shows the next page)");
        }
    }

    /// Prints `{"ok": true}`, or `what` for people.
    pub fn done(&self, what: String) {
        if self.json {
            println!("{}", serde_json::json!({ "ok": true }));
        } else {
            println!("{what}");
        }
    }
}

/// Columns padded to their widest cell, with a header row.
pub struct Table {
    headers: Vec<&'static str>,
    rows: Vec<Vec<String>>,
}

impl Table {
    pub fn new(headers: &[&'static str]) -> Self {
        Table { headers: headers.to_vec(), rows: Vec::new() }
    }

    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    pub fn render(&self) -> String {
        let rows: Vec<Vec<String>> = self.rows.iter().map(|r| r.iter().map(|c| escape(c)).collect()).collect();
        let mut widths: Vec<usize> = self.headers.iter().map(|h| h.chars().count()).collect();
        for row in &rows {
            for (i, cell) in row.iter().enumerate() {
                widths[i] = widths[i].max(cell.chars().count());
            }
        }
        let mut out = String::new();
        let mut line = |cells: Vec<&str>| {
            let last = cells.len() - 1;
            for (i, cell) in cells.into_iter().enumerate() {
                out.push_str(&highlight(cell));
                if i < last {
                    pad(&mut out, cell, widths[i]);
                }
            }
            out.push('\n');
        };
        line(self.headers.clone());
        for row in &rows {
            line(row.iter().map(String::as_str).collect());
        }
        out
    }
}

/// One line with each cell but the last padded to at least its width in `widths`.
pub fn fixed(cells: &[String], widths: &[usize]) -> String {
    let mut out = String::new();
    for (i, cell) in cells.iter().enumerate() {
        let cell = escape(cell);
        out.push_str(&highlight(&cell));
        if let Some(&w) = widths.get(i).filter(|_| i + 1 < cells.len()) {
            pad(&mut out, &cell, w);
        }
    }
    out.push('\n');
    out
}

/// Spaces after `cell` up to `width`, and the two between columns.
fn pad(out: &mut String, cell: &str, width: usize) {
    let n = width.saturating_sub(cell.chars().count()) + 2;
    out.extend(std::iter::repeat_n(' ', n));
}

/// `key: value` lines with the values aligned.
pub fn fields(pairs: &[(&str, String)]) -> String {
    let width = pairs.iter().map(|(k, _)| k.len() + 1).max().unwrap_or(0);
    let mut out = String::new();
    for (k, v) in pairs {
        let _ = writeln!(out, "{:<width$} {}", format!("{k}:"), highlight(&escape(v)));
    }
    out
}

/// At most `max` characters of `text` as [`escape`] shows it, with an ellipsis when cut (never
/// inside an escape).
pub fn clip(text: &str, max: usize) -> String {
    let mut out = String::new();
    let mut count = 0;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        let shown = escape_char(c);
        let n = shown.as_deref().map_or(1, |s| s.chars().count());
        let room = if chars.peek().is_some() { max.saturating_sub(1) } else { max };
        if count + n > room {
            out.push('…');
            return out;
        }
        match shown {
            Some(s) => out.push_str(&s),
            None => out.push(c),
        }
        count += n;
    }
    out
}

/// Stored text as it may be shown on a terminal: control characters, bidi controls and other
/// invisible characters are written as escapes (`\n`, `\u{202e}`), so that a name, a reason or
/// a context cannot reorder, hide or forge what is around it.
pub fn escape(text: &str) -> String {
    if !text.chars().any(|c| escape_char(c).is_some()) {
        return text.to_owned();
    }
    text.chars().map(|c| escape_char(c).unwrap_or_else(|| c.to_string())).collect()
}

fn escape_char(c: char) -> Option<String> {
    let invisible = c.is_control()
        || matches!(c,
            '\u{200B}'..='\u{200F}'   // zero-width space, joiners, LRM, RLM
            | '\u{2028}'..='\u{202E}' // line and paragraph separators, bidi embeddings and overrides
            | '\u{2060}'..='\u{206F}' // word joiner, invisible operators, bidi isolates
            | '\u{061C}'               // Arabic letter mark
            | '\u{00AD}'               // soft hyphen
            | '\u{180E}'
            | '\u{FEFF}'
            | '\u{FFF9}'..='\u{FFFB}');
    if !invisible {
        return None;
    }
    Some(match c {
        '\n' => "\\n".into(),
        '\r' => "\\r".into(),
        '\t' => "\\t".into(),
        _ => format!("\\u{{{:x}}}", c as u32),
    })
}

/// Whether to colour: standard output is a terminal and `NO_COLOR` is unset (or empty).
/// `CLICOLOR_FORCE` (set and not `0`) colours even when it is not a terminal.
fn color() -> bool {
    static COLOR: OnceLock<bool> = OnceLock::new();
    *COLOR.get_or_init(|| {
        let set = |v: &str| std::env::var_os(v).is_some_and(|s| !s.is_empty());
        let forced = std::env::var_os("CLICOLOR_FORCE").is_some_and(|s| !s.is_empty() && s != "0");
        !set("NO_COLOR") && (forced || std::io::stdout().is_terminal())
    })
}

/// A cell that needs attention (a deny, a broken chain) in bold red when colouring.
fn highlight(cell: &str) -> std::borrow::Cow<'_, str> {
    if matches!(cell, "DENIED" | "BROKEN") && color() {
        format!("\x1b[1;31m{cell}\x1b[0m").into()
    } else {
        cell.into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_align_to_the_widest_cell() {
        let mut t = Table::new(&["ID", "NAME"]);
        t.row(vec!["agt_1".into(), "a".into()]);
        t.row(vec!["x".into(), "longer".into()]);
        assert_eq!(t.render(), "ID     NAME\nagt_1  a\nx      longer\n");
    }

    #[test]
    fn fixed_rows_pad_all_but_the_last_cell() {
        let cells = ["ab".to_owned(), "c".to_owned(), "last".to_owned()];
        assert_eq!(fixed(&cells, &[4, 2]), "ab    c   last\n");
    }

    #[test]
    fn clip_cuts_long_text_and_escapes_newlines() {
        assert_eq!(clip("a\nb", 10), "a\\nb");
        assert_eq!(clip("abcdef", 4), "abc…");
        assert_eq!(clip("abcd", 4), "abcd");
        assert_eq!(clip("ab\u{202e}cd", 6), "ab…", "an escape is never cut in half");
    }

    #[test]
    fn bidi_controls_and_invisible_characters_are_shown_escaped() {
        assert_eq!(escape("ok\u{202e}txt.exe"), "ok\\u{202e}txt.exe");
        for c in
            ['\u{202a}', '\u{202d}', '\u{2066}', '\u{2069}', '\u{200e}', '\u{200f}', '\u{200b}', '\u{feff}', '\x1b']
        {
            let shown = escape(&format!("a{c}b"));
            assert!(shown.is_ascii() && shown.contains("\\u{"), "{c:?} shown as {shown:?}");
        }
        assert_eq!(escape("plain text, ümlauts and 日本語"), "plain text, ümlauts and 日本語");
        assert_eq!(fields(&[("name", "x\u{2067}y".into())]), "name: x\\u{2067}y\n");
    }
}
