//! The structure of delimited text, checked before polars parses it. Left to itself, polars
//! pads a short row (or a blank line, or a file cut short) with nulls that read as NaN, names no
//! line when a row is too long, renames a column whose name is not UTF-8, accepts a quote left
//! open at the end of the file, and reports bad UTF-8 without a row or a column.
//!
//! [`check_delimited`] walks the bytes once (RFC 4180 quoting: a quote opens a field only at its
//! start, `""` inside one is a quote, and only a separator or the line end may follow the
//! closing one; lines end with `\n` or `\r\n`) and checks that
//!
//! - the header names are UTF-8 and distinct;
//! - every record has as many fields as the header (a blank line counts as one empty field, so
//!   it is an error unless the table has a single column); the last line needs no newline, but a
//!   short last line is a truncated file;
//! - no quote is left open, stray or followed by text;
//! - every value is UTF-8.
//!
//! Each problem is [`Error::Parse`] naming the file, the 1-based line and the column (1-based
//! index and header name). Blocks of 64 bytes without a quote or a line end are counted in one
//! vectorisable pass; only the others are walked byte by byte.

use std::path::Path;

use crate::error::{Error, Result};

/// What the check found: the header's names and how many data records follow it.
#[derive(Debug)]
pub(super) struct Shape {
    /// The header's names, unquoted.
    pub names: Vec<String>,
    /// Data records (lines, unless a quoted field spans several).
    pub rows: usize,
}

/// Checks the structure of a delimited table held in `bytes` (already decompressed).
pub(super) fn check_delimited(path: &Path, bytes: &[u8], sep: u8) -> Result<Shape> {
    let start = if bytes.starts_with(b"\xEF\xBB\xBF") {
        3
    } else {
        0
    };
    let first_line = bytes[start..].split(|&b| b == b'\n').next().unwrap_or(&[]);
    if first_line.iter().all(u8::is_ascii_whitespace) {
        return Err(Error::Empty {
            path: path.to_path_buf(),
            what: "the file is empty (no header line)".into(),
        });
    }
    let header = parse_header(bytes, start, sep).map_err(|p| p.into_error(path, &[]))?;
    let mut names = Vec::with_capacity(header.names.len());
    for (j, raw) in header.names.into_iter().enumerate() {
        match String::from_utf8(raw) {
            Ok(name) => names.push(name),
            Err(e) => {
                let value = e.into_bytes();
                let offset = std::str::from_utf8(&value)
                    .err()
                    .map_or(0, |e| e.valid_up_to());
                return Err(Problem::Utf8 {
                    at: At {
                        line: 1,
                        row: 0,
                        column: j + 1,
                    },
                    value,
                    offset,
                }
                .into_error(path, &[]));
            }
        }
    }
    let mut seen = std::collections::HashMap::with_capacity(names.len());
    for (j, name) in names.iter().enumerate() {
        if let Some(first) = seen.insert(name.as_str(), j) {
            return Err(Error::DuplicateColumn {
                path: path.to_path_buf(),
                column: name.clone(),
                first: first + 1,
                second: j + 1,
            });
        }
    }
    let mut scan = Scan::new(bytes, sep, names.len(), header.body, header.line);
    if let Err(p) = scan.run() {
        return Err(p.into_error(path, &names));
    }
    if let Err(e) = std::str::from_utf8(&bytes[header.body..]) {
        let offset = header.body + e.valid_up_to();
        let p = Scan::new(bytes, sep, names.len(), header.body, header.line).utf8_problem(offset);
        return Err(p.into_error(path, &names));
    }
    Ok(Shape {
        names,
        rows: scan.rows,
    })
}

/// Where a problem is: the 1-based line, data row (0 in the header) and column.
#[derive(Debug, Clone, Copy)]
struct At {
    line: usize,
    row: usize,
    column: usize,
}

impl At {
    /// `line 3 (data row 2), column 2 ('Metadata_Well')`, or `line 1 (the header), column 2`.
    fn describe(self, names: &[String]) -> String {
        let row = match self.row {
            0 => "the header".to_string(),
            r => format!("data row {r}"),
        };
        format!(
            "line {} ({row}), {}",
            self.line,
            describe_column(names, self.column)
        )
    }
}

/// A structural problem, located; [`Problem::into_error`] words it.
#[derive(Debug)]
enum Problem {
    /// A record with `found` fields where the header has `expected`.
    FieldCount {
        /// Line where the record starts.
        line: usize,
        /// 1-based data row.
        row: usize,
        /// Line where it ends (later than `line` when a quoted field holds line breaks).
        last_line: usize,
        found: usize,
        expected: usize,
        /// The record is an empty line.
        blank: bool,
        /// The record is the last one and the file ends without a newline.
        at_eof: bool,
    },
    /// A quote after the start of an unquoted field.
    StrayQuote { at: At },
    /// Text after the closing quote of a quoted field, opened at `open_line`.
    AfterQuote { at: At, open_line: usize },
    /// The file ends inside a quoted field opened at `at`.
    Unterminated { at: At },
    /// A value (or a header name) that is not UTF-8; the bad bytes start at `offset` within
    /// `value`.
    Utf8 {
        at: At,
        value: Vec<u8>,
        offset: usize,
    },
}

impl Problem {
    fn into_error(self, path: &Path, names: &[String]) -> Error {
        let what = match self {
            Problem::FieldCount {
                line,
                row,
                last_line,
                found,
                expected,
                blank,
                at_eof,
            } => {
                let at = if last_line > line {
                    format!(
                        "the record at lines {line}-{last_line} (data row {row}; a quoted field \
                         spans those lines: is a quote left open?)"
                    )
                } else {
                    format!("line {line} (data row {row})")
                };
                if blank {
                    format!(
                        "{at} is blank, but the header has {expected} columns; remove the empty line"
                    )
                } else if found < expected {
                    let missing = if found + 1 == expected {
                        format!("{} is missing", describe_column(names, expected))
                    } else {
                        format!(
                            "columns {} to {} are missing",
                            describe_column(names, found + 1).trim_start_matches("column "),
                            describe_column(names, expected).trim_start_matches("column "),
                        )
                    };
                    let cut = if at_eof {
                        " (the file ends there, without a newline: it looks truncated)"
                    } else {
                        ""
                    };
                    format!("{at} has {found} fields, the header {expected}: {missing}{cut}")
                } else {
                    format!(
                        "{at} has {found} fields, the header {expected}: field {} has no column \
                         (an extra separator, or an unquoted value holding one?)",
                        expected + 1,
                    )
                }
            }
            Problem::StrayQuote { at } => format!(
                "{}: a quote (\") inside an unquoted field; quote the whole field and double the \
                 quotes inside it (\"a\"\"b\")",
                at.describe(names)
            ),
            Problem::AfterQuote { at, open_line } => {
                let opened = if open_line < at.line {
                    format!(
                        " (the quoted field opened at line {open_line}: is a quote left open there?)"
                    )
                } else {
                    String::new()
                };
                format!(
                    "{}: text after the closing quote of a quoted field{opened}",
                    at.describe(names)
                )
            }
            Problem::Unterminated { at } => format!(
                "{}: the quoted field opened here is never closed (the file ends inside it: \
                 truncated, or a stray quote?)",
                at.describe(names)
            ),
            Problem::Utf8 { at, value, offset } => {
                let bad: Vec<String> = value[offset..]
                    .iter()
                    .take(4)
                    .map(|b| format!("{b:02x}"))
                    .collect();
                let shown: String = String::from_utf8_lossy(&value).chars().take(60).collect();
                let what = if at.row == 0 {
                    "the column name"
                } else {
                    "the value"
                };
                format!(
                    "{}: {what} '{shown}' is not valid UTF-8 (bytes {} at byte {} of it); save \
                     the file as UTF-8",
                    at.describe(names),
                    bad.join(" "),
                    offset + 1,
                )
            }
        };
        Error::Parse {
            path: path.to_path_buf(),
            what,
        }
    }
}

/// `column 3 ('Cells_A')`; `column 3` while the header is being read; `column 5 (beyond the
/// header's 4)` past its end.
fn describe_column(names: &[String], j: usize) -> String {
    match names.get(j.wrapping_sub(1)) {
        _ if names.is_empty() => format!("column {j}"),
        Some(name) => format!("column {j} ('{}')", shorten(name)),
        None => format!("column {j} (beyond the header's {})", names.len()),
    }
}

/// A column name as messages show it: at most 80 characters, the middle elided. A "name" that
/// long is usually a whole header read with the wrong separator, and printing it in full would
/// bury the message.
fn shorten(name: &str) -> String {
    const MAX: usize = 80;
    let n = name.chars().count();
    if n <= MAX {
        return name.to_string();
    }
    let head: String = name.chars().take(MAX / 2).collect();
    let tail: String = name.chars().skip(n - MAX / 2).collect();
    format!("{head}…{tail} ({n} characters: is the separator right?)")
}

/// Where the reader is relative to quotes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Outside quotes; `start` while no byte of the current field has been seen.
    Unquoted { start: bool },
    /// Inside a quoted field opened at `line`, `column`.
    Quoted { line: usize, column: usize },
    /// Just after the closing quote of a field opened at `line`.
    Closed { line: usize },
}

/// The header record: its raw names and where the data begins.
struct Header {
    names: Vec<Vec<u8>>,
    /// Byte offset of the first data record.
    body: usize,
    /// Its 1-based line.
    line: usize,
}

/// Reads the header record from `start`, unquoting its names.
fn parse_header(bytes: &[u8], start: usize, sep: u8) -> std::result::Result<Header, Problem> {
    let mut names = Vec::new();
    let mut cur = Vec::new();
    let mut line = 1;
    let mut state = State::Unquoted { start: true };
    let mut i = start;
    let done = |mut names: Vec<Vec<u8>>, mut cur: Vec<u8>, quoted: bool, body, line| {
        if !quoted && cur.last() == Some(&b'\r') {
            cur.pop();
        }
        names.push(cur);
        Header { names, body, line }
    };
    while i < bytes.len() {
        let b = bytes[i];
        let column = names.len() + 1;
        match state {
            State::Unquoted { start } => {
                if b == sep {
                    names.push(std::mem::take(&mut cur));
                    state = State::Unquoted { start: true };
                } else if b == b'\n' {
                    return Ok(done(names, cur, false, i + 1, line + 1));
                } else if b == b'"' {
                    if !start {
                        let at = At {
                            line,
                            row: 0,
                            column,
                        };
                        return Err(Problem::StrayQuote { at });
                    }
                    state = State::Quoted { line, column };
                } else {
                    cur.push(b);
                    state = State::Unquoted { start: false };
                }
            }
            State::Quoted { line: open, .. } => {
                if b == b'"' {
                    if bytes.get(i + 1) == Some(&b'"') {
                        cur.push(b'"');
                        i += 1;
                    } else {
                        state = State::Closed { line: open };
                    }
                } else {
                    line += usize::from(b == b'\n');
                    cur.push(b);
                }
            }
            State::Closed { line: open_line } => {
                if b == sep {
                    names.push(std::mem::take(&mut cur));
                    state = State::Unquoted { start: true };
                } else if b == b'\n' {
                    return Ok(done(names, cur, true, i + 1, line + 1));
                } else if !(b == b'\r' && bytes.get(i + 1) == Some(&b'\n')) {
                    let at = At {
                        line,
                        row: 0,
                        column,
                    };
                    return Err(Problem::AfterQuote { at, open_line });
                }
            }
        }
        i += 1;
    }
    match state {
        State::Quoted { line, column } => Err(Problem::Unterminated {
            at: At {
                line,
                row: 0,
                column,
            },
        }),
        State::Closed { .. } => Ok(done(names, cur, true, bytes.len(), line + 1)),
        State::Unquoted { .. } => Ok(done(names, cur, false, bytes.len(), line + 1)),
    }
}

/// Bytes per block of the fast path.
const BLOCK: usize = 64;

/// The walk over the data records.
struct Scan<'a> {
    bytes: &'a [u8],
    sep: u8,
    /// Fields of every record (the header's).
    expected: usize,
    /// Next byte to read.
    pos: usize,
    /// 1-based line of `pos`.
    line: usize,
    /// Line and byte offset where the current record starts.
    rec_line: usize,
    rec_start: usize,
    /// Where the current field starts.
    field_start: usize,
    /// 1-based index of the current field.
    field: usize,
    state: State,
    /// Records completed.
    rows: usize,
}

impl<'a> Scan<'a> {
    fn new(bytes: &'a [u8], sep: u8, expected: usize, start: usize, line: usize) -> Scan<'a> {
        Scan {
            bytes,
            sep,
            expected,
            pos: start,
            line,
            rec_line: line,
            rec_start: start,
            field_start: start,
            field: 1,
            state: State::Unquoted { start: true },
            rows: 0,
        }
    }

    /// Walks every record to the end of the file.
    fn run(&mut self) -> std::result::Result<(), Problem> {
        let (bytes, sep) = (self.bytes, self.sep);
        let n = bytes.len();
        while self.pos < n {
            let end = (self.pos + BLOCK).min(n);
            // Fast path: a whole block outside quotes without quotes or line ends only adds
            // fields. (A fixed-size block, so that the loop is vectorised.)
            if let Some(block) = bytes[self.pos..].first_chunk::<BLOCK>()
                && matches!(self.state, State::Unquoted { .. })
            {
                let mut seps = 0u8;
                let mut special = 0u8;
                for &b in block {
                    seps += u8::from(b == sep);
                    special |= u8::from(b == b'\n') | u8::from(b == b'"');
                }
                if special == 0 {
                    // (`field_start` is left behind: only `utf8_problem` needs it, and it
                    // steps byte by byte.)
                    self.field += usize::from(seps);
                    self.state = State::Unquoted {
                        start: block[BLOCK - 1] == sep,
                    };
                    self.pos = end;
                    continue;
                }
            }
            while self.pos < end {
                self.step()?;
            }
        }
        match self.state {
            State::Quoted { line, column } => Err(Problem::Unterminated {
                at: self.at(line, column),
            }),
            _ if self.rec_start < n => self.end_record(n),
            _ => Ok(()),
        }
    }

    /// Reads the byte at `pos` (two for an escaped quote).
    fn step(&mut self) -> std::result::Result<(), Problem> {
        let i = self.pos;
        let b = self.bytes[i];
        self.pos += 1;
        match self.state {
            State::Unquoted { start } => {
                if b == self.sep {
                    self.next_field();
                } else if b == b'\n' {
                    self.end_record(i)?;
                } else if b == b'"' {
                    if !start {
                        return Err(Problem::StrayQuote {
                            at: self.at(self.line, self.field),
                        });
                    }
                    self.state = State::Quoted {
                        line: self.line,
                        column: self.field,
                    };
                } else if start {
                    self.state = State::Unquoted { start: false };
                }
            }
            State::Quoted { line, .. } => {
                if b == b'"' {
                    if self.bytes.get(i + 1) == Some(&b'"') {
                        self.pos += 1;
                    } else {
                        self.state = State::Closed { line };
                    }
                } else if b == b'\n' {
                    self.line += 1;
                }
            }
            State::Closed { line: open_line } => {
                if b == self.sep {
                    self.next_field();
                } else if b == b'\n' {
                    self.end_record(i)?;
                } else if !(b == b'\r' && self.bytes.get(i + 1) == Some(&b'\n')) {
                    return Err(Problem::AfterQuote {
                        at: self.at(self.line, self.field),
                        open_line,
                    });
                }
            }
        }
        Ok(())
    }

    /// `line` and `column` of the current record.
    fn at(&self, line: usize, column: usize) -> At {
        At {
            line,
            row: self.rows + 1,
            column,
        }
    }

    fn next_field(&mut self) {
        self.field += 1;
        self.field_start = self.pos;
        self.state = State::Unquoted { start: true };
    }

    /// Ends the record whose line end (or the end of the file) is at `i`.
    fn end_record(&mut self, i: usize) -> std::result::Result<(), Problem> {
        if self.field != self.expected {
            let content = &self.bytes[self.rec_start..i];
            return Err(Problem::FieldCount {
                line: self.rec_line,
                row: self.rows + 1,
                last_line: self.line,
                found: self.field,
                expected: self.expected,
                blank: content.is_empty() || content == b"\r",
                at_eof: i == self.bytes.len(),
            });
        }
        self.rows += 1;
        self.line += 1;
        self.rec_line = self.line;
        self.rec_start = i + 1;
        self.field = 0;
        self.next_field();
        Ok(())
    }

    /// Locates the byte at `offset` (of a structurally valid file): the line and field it lies
    /// in, and that field's bytes.
    fn utf8_problem(mut self, offset: usize) -> Problem {
        while self.pos <= offset && self.pos < self.bytes.len() {
            // The structure was checked already, so the walk cannot fail.
            if self.step().is_err() {
                break;
            }
        }
        let (at, start) = (self.at(self.line, self.field), self.field_start);
        let quoted = self.bytes.get(start) == Some(&b'"');
        let from = (start + usize::from(quoted)).min(offset);
        let rest = &self.bytes[from..];
        let end = if quoted {
            // Up to the closing quote, past doubled ones (shown as they are written).
            let mut k = 0;
            while k < rest.len() {
                if rest[k] == b'"' {
                    if rest.get(k + 1) != Some(&b'"') {
                        break;
                    }
                    k += 1;
                }
                k += 1;
            }
            k
        } else {
            rest.iter()
                .position(|&b| b == self.sep || b == b'\n')
                .unwrap_or(rest.len())
        };
        let offset = offset - from;
        // The bad byte is inside the value; the bound only guards the message.
        let mut value = rest[..end.max(offset + 1).min(rest.len())].to_vec();
        if !quoted && value.last() == Some(&b'\r') {
            value.pop();
        }
        Problem::Utf8 { at, value, offset }
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn a_name_as_long_as_a_whole_header_is_shortened_in_messages() {
        let long = "Metadata_A,".repeat(20);
        let shown = describe_column(std::slice::from_ref(&long), 1);
        assert!(shown.len() < 140, "{shown}");
        assert!(
            shown.contains("(220 characters: is the separator right?)"),
            "{shown}"
        );
        assert_eq!(
            describe_column(&["Cells_A".into()], 1),
            "column 1 ('Cells_A')"
        );
    }

    use super::*;

    /// The message for `text` as a CSV (`sep` `,`) or TSV file, without the path.
    fn err_sep(text: &[u8], sep: u8) -> String {
        let e = check_delimited(Path::new("t.csv"), text, sep).unwrap_err();
        let e = e.to_string();
        e.strip_prefix("t.csv: ").unwrap_or(&e).to_string()
    }

    fn err(text: &[u8]) -> String {
        err_sep(text, b',')
    }

    fn ok(text: &[u8]) -> (Vec<String>, usize) {
        let s = check_delimited(Path::new("t.csv"), text, b',').unwrap();
        (s.names, s.rows)
    }

    #[test]
    fn valid_files_pass_with_their_shape() {
        let names = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(ok(b"a,b\n1,2\n3,4\n"), (names(&["a", "b"]), 2));
        // The last line needs no newline; CRLF line ends; a header without rows.
        assert_eq!(ok(b"a,b\n1,2\n3,4").1, 2);
        assert_eq!(ok(b"a,b\r\n1,2\r\n3,4\r\n").1, 2);
        assert_eq!(ok(b"a,b\n").1, 0);
        assert_eq!(ok(b"a,b").1, 0);
        // Quoted fields: separators, doubled quotes, line breaks, CRLF after a closing quote.
        assert_eq!(
            ok(b"\"a,1\",\"b\"\"\"\n\"x\ny\",\"\"\r\n\"\",2\n"),
            (names(&["a,1", "b\""]), 2)
        );
        // A single column: a blank line is an empty value, not a short row.
        assert_eq!(ok(b"a\n1\n\n2\n").1, 3);
        // A UTF-8 byte order mark and non-ASCII text.
        assert_eq!(ok("\u{feff}a,é\nü,😀\n".as_bytes()).0, names(&["a", "é"]));
    }

    #[test]
    fn short_and_long_rows_name_line_and_column() {
        assert_eq!(
            err(b"M_a,f,g\nx,1,2\ny,3\nz,5,6\n"),
            "line 3 (data row 2) has 2 fields, the header 3: column 3 ('g') is missing"
        );
        assert_eq!(
            err(b"M_a,f,g\nx,1,2\ny\n"),
            "line 3 (data row 2) has 1 fields, the header 3: columns 2 ('f') to 3 ('g') are missing"
        );
        assert_eq!(
            err(b"M_a,f,g\nx,1,2\ny,3,4,5\n"),
            "line 3 (data row 2) has 4 fields, the header 3: field 4 has no column (an extra \
             separator, or an unquoted value holding one?)"
        );
        assert_eq!(
            err(b"M_a,f,g\nx,1,2\n\ny,3,4\n"),
            "line 3 (data row 2) is blank, but the header has 3 columns; remove the empty line"
        );
        assert_eq!(
            err(b"M_a,f,g\nx,1,2\r\n\r\n"),
            "line 3 (data row 2) is blank, but the header has 3 columns; remove the empty line"
        );
        // A lone CR is data, not a line end: the row runs on.
        assert_eq!(
            err(b"M_a,f\nx,1\ry,2\n"),
            "line 2 (data row 1) has 3 fields, the header 2: field 3 has no column (an extra \
             separator, or an unquoted value holding one?)"
        );
    }

    #[test]
    fn truncated_files_are_errors_unless_the_cut_leaves_a_whole_row() {
        let full = b"M_a,f,g\nx,1,2\ny,3,4\n";
        // Cut after a line end, or inside the last field: whole rows (undetectable). Cut
        // inside the last field but one ("y,3"), after its separator ("y,") or in the first
        // field ("y"): a short last row.
        for cut in [full.len(), full.len() - 1, full.len() - 2, 14] {
            check_delimited(Path::new("t.csv"), &full[..cut], b',').unwrap();
        }
        assert_eq!(
            err(&full[..full.len() - 3]),
            "line 3 (data row 2) has 2 fields, the header 3: column 3 ('g') is missing (the file \
             ends there, without a newline: it looks truncated)"
        );
        assert_eq!(
            err(&full[..full.len() - 4]),
            "line 3 (data row 2) has 2 fields, the header 3: column 3 ('g') is missing (the file \
             ends there, without a newline: it looks truncated)"
        );
        assert_eq!(
            err(&full[..full.len() - 5]),
            "line 3 (data row 2) has 1 fields, the header 3: columns 2 ('f') to 3 ('g') are \
             missing (the file ends there, without a newline: it looks truncated)"
        );
    }

    #[test]
    fn quote_problems_name_line_and_column() {
        assert_eq!(
            err(b"M_a,f\nx,1\n\"y,2\n"),
            "line 3 (data row 2), column 1 ('M_a'): the quoted field opened here is never closed \
             (the file ends inside it: truncated, or a stray quote?)"
        );
        assert_eq!(
            err(b"M_a,f\nx,1\ny\"z,2\n"),
            "line 3 (data row 2), column 1 ('M_a'): a quote (\") inside an unquoted field; quote \
             the whole field and double the quotes inside it (\"a\"\"b\")"
        );
        assert_eq!(
            err(b"M_a,f\nx,1\ny, \"2\"\n"),
            "line 3 (data row 2), column 2 ('f'): a quote (\") inside an unquoted field; quote \
             the whole field and double the quotes inside it (\"a\"\"b\")"
        );
        assert_eq!(
            err(b"M_a,f\nx,\"1\"2\n"),
            "line 2 (data row 1), column 2 ('f'): text after the closing quote of a quoted field"
        );
        // A quote left open swallows the line end; the next quote closes it, mid-field.
        assert_eq!(
            err(b"M_a,f\nx,\"1\ny,\"2\"\n"),
            "line 3 (data row 1), column 2 ('f'): text after the closing quote of a quoted field \
             (the quoted field opened at line 2: is a quote left open there?)"
        );
        assert_eq!(
            err(b"M_a,f\n\"x\ny\"\nz,1\n"),
            "the record at lines 2-3 (data row 1; a quoted field spans those lines: is a quote \
             left open?) has 1 fields, the header 2: column 2 ('f') is missing"
        );
        // In the header too.
        assert_eq!(
            err(b"M_a,\"f\n"),
            "line 1 (the header), column 2: the quoted field opened here is never closed (the \
             file ends inside it: truncated, or a stray quote?)"
        );
    }

    #[test]
    fn invalid_utf8_names_line_and_column() {
        assert_eq!(
            err(b"M_a,f\xe9\nx,1\n"),
            "line 1 (the header), column 2: the column name 'f\u{fffd}' is not valid UTF-8 \
             (bytes e9 at byte 2 of it); save the file as UTF-8"
        );
        assert_eq!(
            err(b"M_a,f,g\nx,1,2\nA\xff1,3,4\n"),
            "line 3 (data row 2), column 1 ('M_a'): the value 'A\u{fffd}1' is not valid UTF-8 \
             (bytes ff 31 at byte 2 of it); save the file as UTF-8"
        );
        // Inside a quoted field that spans lines: the line of the bad byte.
        assert_eq!(
            err(b"M_a,f\nx,1\n\"a\nb\xc3(\",2\n"),
            "line 4 (data row 2), column 1 ('M_a'): the value 'a\nb\u{fffd}(' is not valid UTF-8 \
             (bytes c3 28 at byte 4 of it); save the file as UTF-8"
        );
        // After a doubled quote inside a quoted value.
        assert_eq!(
            err(b"M_a,f\n\"a\"\"b\xff\",1\n"),
            "line 2 (data row 1), column 1 ('M_a'): the value 'a\"\"b\u{fffd}' is not valid UTF-8 \
             (bytes ff at byte 5 of it); save the file as UTF-8"
        );
        assert_eq!(
            err_sep(b"M_a\tf\nx\t1\ny\t\x80\n", b'\t'),
            "line 3 (data row 2), column 2 ('f'): the value '\u{fffd}' is not valid UTF-8 \
             (bytes 80 at byte 1 of it); save the file as UTF-8"
        );
    }

    #[test]
    fn empty_files_and_duplicate_names() {
        assert_eq!(err(b""), "the file is empty (no header line)");
        assert_eq!(err(b"  \r\nx\n"), "the file is empty (no header line)");
        assert_eq!(
            err(b"M_a,f,\"f\"\nx,1,2\n"),
            "line 1 (the header): duplicate column 'f' (columns 2 and 3, counting from 1)"
        );
    }

    #[test]
    fn long_rows_take_the_fast_path_and_still_locate_errors() {
        // Rows of several 64-byte blocks, with quotes and line ends at block edges.
        let d = 150;
        let mut text = String::from("M_a");
        for j in 1..d {
            text.push_str(&format!(",f{j}"));
        }
        text.push('\n');
        for i in 0..20 {
            text.push_str(&format!("\"r{i}\""));
            for j in 1..d {
                text.push_str(&format!(",{}", i * j));
            }
            text.push('\n');
        }
        let (names, rows) = ok(text.as_bytes());
        assert_eq!((names.len(), rows), (d, 20));
        let mut short = text.clone();
        short.push_str("x,1,2\n");
        assert!(
            err(short.as_bytes()).starts_with("line 22 (data row 21) has 3 fields, the header 150"),
            "{}",
            err(short.as_bytes())
        );
        // One field too many deep inside a long row.
        let mut long = text.clone();
        let at = long.len() - 300;
        long.insert(at, ',');
        assert!(
            err(long.as_bytes()).starts_with("line 21 (data row 20) has 151 fields"),
            "{}",
            err(long.as_bytes())
        );
        // A stray quote far into a long row names its column.
        let mut stray = text.clone();
        let row2 = stray.match_indices('\n').nth(1).unwrap().0 + 1;
        let col100 = row2 + stray[row2..].match_indices(',').nth(98).unwrap().0 + 2;
        stray.insert(col100, '"');
        assert!(
            err(stray.as_bytes()).starts_with("line 3 (data row 2), column 100 ('f99'): a quote"),
            "{}",
            err(stray.as_bytes())
        );
    }
}
