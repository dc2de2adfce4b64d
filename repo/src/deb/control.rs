//! Debian control paragraphs (deb822): the format of `debian/control`,
//! `DEBIAN/control`, `Packages`, `Sources` and `Release`.
//!
//! A [`Paragraph`] keeps its fields in input order and each value exactly as
//! written, continuation lines included, so writing a parsed paragraph gives
//! back the same text (up to the whitespace after the colon, which is
//! normalised to one space). Field names compare case-insensitively, as
//! deb822 requires.

use std::fmt;

use crate::{Error, Result};

/// One `Name: value` field. `value` holds the text after the colon with the
/// first line's leading whitespace removed; continuation lines follow, each
/// after a `\n` and with its own leading whitespace kept. A value whose
/// first line is empty (as in `Files:` or `SHA256:`) starts with `\n`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    pub name: String,
    pub value: String,
    /// 1-based line of the field's name in the input (0 for fields added in code).
    pub line: usize,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Paragraph {
    pub fields: Vec<Field>,
    /// 1-based line where the paragraph starts in the input (0 if built in code).
    pub line: usize,
}

impl Paragraph {
    pub fn new() -> Self {
        Self::default()
    }

    /// The value of `name` (case-insensitive), as stored.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.field(name).map(|f| f.value.as_str())
    }

    pub fn field(&self, name: &str) -> Option<&Field> {
        self.fields
            .iter()
            .find(|f| f.name.eq_ignore_ascii_case(name))
    }

    /// The value of `name`, or an error naming the paragraph's place in `input`.
    pub fn require(&self, name: &str, input: &str) -> Result<&str> {
        self.get(name).ok_or_else(|| {
            Error::syntax(input, self.line, format!("paragraph has no {name} field"))
        })
    }

    /// Replace the value of `name`, or append the field if absent.
    pub fn set(&mut self, name: &str, value: impl Into<String>) {
        let value = value.into();
        match self
            .fields
            .iter_mut()
            .find(|f| f.name.eq_ignore_ascii_case(name))
        {
            Some(f) => f.value = value,
            None => self.fields.push(Field {
                name: name.to_string(),
                value,
                line: 0,
            }),
        }
    }

    pub fn remove(&mut self, name: &str) -> Option<String> {
        let i = self
            .fields
            .iter()
            .position(|f| f.name.eq_ignore_ascii_case(name))?;
        Some(self.fields.remove(i).value)
    }

    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    /// Write the paragraph, without the blank line that separates paragraphs.
    pub fn write_to(&self, out: &mut String) {
        for f in &self.fields {
            out.push_str(&f.name);
            out.push(':');
            if !f.value.is_empty() && !f.value.starts_with('\n') {
                out.push(' ');
            }
            out.push_str(&f.value);
            out.push('\n');
        }
    }
}

impl fmt::Display for Paragraph {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = String::new();
        self.write_to(&mut s);
        f.write_str(&s)
    }
}

/// Iterator over the paragraphs of a deb822 text. `input` names the source in
/// error messages. Comment lines (`#` in column 0) are skipped, as in
/// `debian/control`.
pub struct Paragraphs<'a> {
    input: &'a str,
    lines: std::iter::Peekable<std::iter::Enumerate<std::str::Lines<'a>>>,
    failed: bool,
}

impl<'a> Paragraphs<'a> {
    pub fn new(text: &'a str, input: &'a str) -> Self {
        Paragraphs {
            input,
            lines: text.lines().enumerate().peekable(),
            failed: false,
        }
    }
}

impl Iterator for Paragraphs<'_> {
    type Item = Result<Paragraph>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        let mut para = Paragraph::new();
        for (i, line) in self.lines.by_ref() {
            let lineno = i + 1;
            if line.starts_with('#') {
                continue;
            }
            if line.trim().is_empty() {
                if para.is_empty() {
                    continue;
                }
                return Some(Ok(para));
            }
            if line.starts_with([' ', '\t']) {
                match para.fields.last_mut() {
                    Some(f) => {
                        f.value.push('\n');
                        f.value.push_str(line.trim_end());
                        continue;
                    }
                    None => {
                        self.failed = true;
                        return Some(Err(Error::syntax(
                            self.input,
                            lineno,
                            "continuation line with no field before it",
                        )));
                    }
                }
            }
            let Some((name, value)) = line.split_once(':') else {
                self.failed = true;
                return Some(Err(Error::syntax(
                    self.input,
                    lineno,
                    format!("expected `Name: value`, found {:?}", truncate(line)),
                )));
            };
            if let Err(msg) = check_field_name(name) {
                self.failed = true;
                return Some(Err(Error::syntax(self.input, lineno, msg)));
            }
            if para.field(name).is_some() {
                self.failed = true;
                return Some(Err(Error::syntax(
                    self.input,
                    lineno,
                    format!("field {name} appears twice in one paragraph"),
                )));
            }
            if para.is_empty() {
                para.line = lineno;
            }
            para.fields.push(Field {
                name: name.to_string(),
                value: value.trim().to_string(),
                line: lineno,
            });
        }
        (!para.is_empty()).then_some(Ok(para))
    }
}

fn check_field_name(name: &str) -> std::result::Result<(), String> {
    if name.is_empty() {
        return Err("empty field name".into());
    }
    // deb822: any US-ASCII printable except control chars and space, not starting with `-` or `#`.
    if name.starts_with('-') || !name.bytes().all(|b| b.is_ascii_graphic() && b != b':') {
        return Err(format!("invalid field name {:?}", truncate(name)));
    }
    Ok(())
}

fn truncate(s: &str) -> &str {
    match s.char_indices().nth(60) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

/// Parse every paragraph of `text`.
pub fn parse(text: &str, input: &str) -> Result<Vec<Paragraph>> {
    Paragraphs::new(text, input).collect()
}

/// Parse exactly one paragraph (a `DEBIAN/control` file, say).
pub fn parse_one(text: &str, input: &str) -> Result<Paragraph> {
    let mut it = Paragraphs::new(text, input);
    let first = it
        .next()
        .unwrap_or_else(|| Err(Error::syntax(input, 1, "no control paragraph")))?;
    if let Some(next) = it.next() {
        let line = next.map(|p| p.line).unwrap_or(0);
        return Err(Error::syntax(
            input,
            line,
            "expected one paragraph, found more",
        ));
    }
    Ok(first)
}

/// Write paragraphs separated by blank lines.
pub fn write(paragraphs: &[Paragraph]) -> String {
    let mut out = String::new();
    for (i, p) in paragraphs.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        p.write_to(&mut out);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "\
Package: hello
Version: 2.10-3
Depends: libc6 (>= 2.34)
Description: example package based on GNU hello
 The GNU hello program produces a familiar, friendly greeting.
 .
 Seriously.

# a comment
Package: world
Files:
 d41d8cd98f00b204e9800998ecf8427e 0 world.dsc
";

    #[test]
    fn parses_fields_in_order_with_lines() {
        let ps = parse(SAMPLE, "sample").unwrap();
        assert_eq!(ps.len(), 2);
        let names: Vec<_> = ps[0].fields.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["Package", "Version", "Depends", "Description"]);
        assert_eq!(ps[0].get("version"), Some("2.10-3"));
        assert_eq!(ps[0].field("Depends").unwrap().line, 3);
        assert_eq!(ps[1].line, 10);
        assert_eq!(
            ps[1].get("Files"),
            Some("\n d41d8cd98f00b204e9800998ecf8427e 0 world.dsc")
        );
    }

    #[test]
    fn round_trips() {
        let ps = parse(SAMPLE, "sample").unwrap();
        let text = write(&ps);
        assert_eq!(text, SAMPLE.replace("# a comment\n", ""));
        assert_eq!(parse(&text, "again").unwrap(), {
            let mut again = ps.clone();
            again[1].line -= 1;
            for f in &mut again[1].fields {
                f.line -= 1;
            }
            again
        });
    }

    #[test]
    fn errors_name_input_and_line() {
        let e = parse("Package: a\nno colon here\n", "Packages").unwrap_err();
        assert_eq!(
            e.to_string(),
            "Packages:2: expected `Name: value`, found \"no colon here\""
        );
        let e = parse(" leading continuation\n", "ctl").unwrap_err();
        assert!(e.to_string().starts_with("ctl:1: continuation"), "{e}");
        let e = parse("A: 1\na: 2\n", "ctl").unwrap_err();
        assert!(e.to_string().contains("appears twice"), "{e}");
        let e = parse_one("A: 1\n\nB: 2\n", "control").unwrap_err();
        assert_eq!(
            e.to_string(),
            "control:3: expected one paragraph, found more"
        );
    }

    #[test]
    fn set_and_remove() {
        let mut p = parse_one("Package: a\nVersion: 1\n", "c").unwrap();
        p.set("version", "2");
        p.set("Size", "10");
        assert_eq!(p.remove("package").as_deref(), Some("a"));
        assert_eq!(p.to_string(), "Version: 2\nSize: 10\n");
    }
}
