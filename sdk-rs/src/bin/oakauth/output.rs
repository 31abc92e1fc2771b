//! Output: JSON for `--json`, else plain-text tables and key/value blocks for people.

use std::fmt::Write as _;

use serde::Serialize;

/// How to print: `--json`, or text for people.
pub struct Out {
    pub json: bool,
}

impl Out {
    /// Prints `value` as pretty JSON, or as `human` renders it.
    pub fn print<T: Serialize>(&self, value: &T, human: impl FnOnce(&T) -> String) {
        if self.json {
            println!("{}", serde_json::to_string_pretty(value).expect("wire types serialize"));
        } else {
            print!("{}", human(value));
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
        let mut widths: Vec<usize> = self.headers.iter().map(|h| h.chars().count()).collect();
        for row in &self.rows {
            for (i, cell) in row.iter().enumerate() {
                widths[i] = widths[i].max(cell.chars().count());
            }
        }
        let mut out = String::new();
        let mut line = |cells: Vec<&str>| {
            let last = cells.len() - 1;
            for (i, cell) in cells.into_iter().enumerate() {
                if i == last {
                    out.push_str(cell);
                } else {
                    let _ = write!(out, "{cell:<w$}  ", w = widths[i]);
                }
            }
            out.push('\n');
        };
        line(self.headers.clone());
        for row in &self.rows {
            line(row.iter().map(String::as_str).collect());
        }
        out
    }
}

/// One line with each cell but the last padded to at least its width in `widths`.
pub fn fixed(cells: &[String], widths: &[usize]) -> String {
    let mut out = String::new();
    for (i, cell) in cells.iter().enumerate() {
        match widths.get(i) {
            Some(w) if i + 1 < cells.len() => {
                let _ = write!(out, "{cell:<w$}  ");
            }
            _ => out.push_str(cell),
        }
    }
    out.push('\n');
    out
}

/// `key: value` lines with the values aligned.
pub fn fields(pairs: &[(&str, String)]) -> String {
    let width = pairs.iter().map(|(k, _)| k.len() + 1).max().unwrap_or(0);
    let mut out = String::new();
    for (k, v) in pairs {
        let _ = writeln!(out, "{:<width$} {v}", format!("{k}:"));
    }
    out
}

/// At most `max` characters of one line of `text`, with an ellipsis when cut.
pub fn clip(text: &str, max: usize) -> String {
    let flat: String = text.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
    if flat.chars().count() <= max {
        flat
    } else {
        let mut cut: String = flat.chars().take(max.saturating_sub(1)).collect();
        cut.push('…');
        cut
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
    fn clip_cuts_long_text_and_flattens_newlines() {
        assert_eq!(clip("a\nb", 10), "a b");
        assert_eq!(clip("abcdef", 4), "abc…");
    }
}
