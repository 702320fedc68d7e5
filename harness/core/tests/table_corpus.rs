//! The seed corpus of `tests/fixtures/fuzz/tables/`: every valid file reads, every malformed one
//! is the error naming the file and the line and column (or the Parquet column chunk) of the
//! problem, through both `read_table` and `read_profiles`.

use std::path::{Path, PathBuf};

use cpbench_core::io::{NonFinitePolicy, ReadOptions, read_profiles, read_table};

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/fuzz/tables")
}

/// The malformed files and their messages (after `<path>: `); `…` ends a prefix.
const MALFORMED: &[(&str, &str)] = &[
    (
        "too_few_fields.csv",
        "line 3 (data row 2) has 3 fields, the header 4: column 4 ('Cells_B') is missing",
    ),
    (
        "too_few_fields.tsv",
        "line 3 (data row 2) has 3 fields, the header 4: column 4 ('Cells_B') is missing",
    ),
    (
        "too_many_fields.csv",
        "line 4 (data row 3) has 5 fields, the header 4: field 5 has no column (an extra \
         separator, or an unquoted value holding one?)",
    ),
    (
        "too_many_fields.csv.gz",
        "line 4 (data row 3) has 5 fields, the header 4: field 5 has no column (an extra \
         separator, or an unquoted value holding one?)",
    ),
    (
        "blank_line.csv",
        "line 3 (data row 2) is blank, but the header has 4 columns; remove the empty line",
    ),
    (
        "truncated_mid_row.csv",
        "line 4 (data row 3) has 2 fields, the header 4: columns 3 ('Cells_A') to 4 ('Cells_B') \
         are missing (the file ends there, without a newline: it looks truncated)",
    ),
    (
        "truncated_field_boundary.csv",
        "line 4 (data row 3) has 3 fields, the header 4: column 4 ('Cells_B') is missing (the \
         file ends there, without a newline: it looks truncated)",
    ),
    (
        "truncated_field_boundary.tsv.gz",
        "line 4 (data row 3) has 3 fields, the header 4: column 4 ('Cells_B') is missing (the \
         file ends there, without a newline: it looks truncated)",
    ),
    (
        "truncated_stream.csv.gz",
        "truncated gzip stream: the file ends before the compressed data does (52 bytes \
         decompressed)",
    ),
    (
        "unterminated_quote.csv",
        "line 3 (data row 2), column 2 ('Metadata_Well'): the quoted field opened here is never \
         closed (the file ends inside it: truncated, or a stray quote?)",
    ),
    (
        "stray_quote.csv",
        "line 3 (data row 2), column 2 ('Metadata_Well'): a quote (\") inside an unquoted field; \
         quote the whole field and double the quotes inside it (\"a\"\"b\")",
    ),
    (
        "text_after_quote.csv",
        "line 3 (data row 2), column 2 ('Metadata_Well'): text after the closing quote of a \
         quoted field",
    ),
    (
        "bad_utf8_header.csv",
        "line 1 (the header), column 2: the column name 'Metadata_W\u{fffd}ll' is not valid \
         UTF-8 (bytes e9 6c 6c at byte 11 of it); save the file as UTF-8",
    ),
    (
        "bad_utf8_value.csv",
        "line 3 (data row 2), column 2 ('Metadata_Well'): the value 'A\u{fffd}02' is not valid \
         UTF-8 (bytes ff 30 32 at byte 2 of it); save the file as UTF-8",
    ),
    (
        "bad_utf8_value.tsv.gz",
        "line 4 (data row 3), column 2 ('Metadata_Well'): the value 'B\u{fffd}(01' is not valid \
         UTF-8 (bytes c3 28 30 31 at byte 2 of it); save the file as UTF-8",
    ),
    (
        "duplicate_columns.csv",
        "line 1 (the header): duplicate column 'Cells_A' (columns 2 and 4, counting from 1)",
    ),
    (
        "not_parquet.parquet",
        "not a Parquet file: it does not start with the magic bytes PAR1",
    ),
    (
        "truncated_half.parquet",
        "truncated or corrupt Parquet file: it does not end with the magic bytes PAR1 (the \
         footer is missing; was the write cut short?)",
    ),
    (
        "truncated_tail.parquet",
        "truncated or corrupt Parquet file: it does not end with the magic bytes PAR1 (the \
         footer is missing; was the write cut short?)",
    ),
    (
        "corrupt_footer_length.parquet",
        "corrupt Parquet footer: its length field says 2147483647 bytes, but the file has only \
         1294",
    ),
    (
        "corrupt_footer.parquet",
        "corrupt Parquet footer: File out of specification: FileMetaData.version missing",
    ),
    (
        "corrupt_chunk_offset.parquet",
        "column 'Metadata_Plate', row group 1 of 1: its pages (-128 bytes from byte 4) lie \
         outside the file's data (bytes 4 to 530): the file is truncated or corrupt",
    ),
    (
        "corrupt_chunk_count.parquet",
        "column 'Metadata_Plate', row group 1 of 1: the footer gives it 0 values for 4 rows",
    ),
    (
        "corrupt_page_count.parquet",
        "column 'Metadata_Plate', row group 1 of 1: corrupt page header: a page of -64 values \
         after 0 of the chunk's 4",
    ),
    (
        "corrupt_page_encoding.parquet",
        "column 'Metadata_Plate', row group 1 of 1: corrupt page header: unknown encoding -64",
    ),
    // Page contents are polars' to decode; it panics on this one, and the panic is caught
    // (quietly) and located by decoding each column, then each of its row groups, alone.
    (
        "corrupt_page_data.parquet",
        "column 'Metadata_Plate', row group 1 of 1: its data is corrupt: the reader failed on \
         it (…",
    ),
    (
        "corrupt_page_values_rg2.parquet",
        "column 'Cells_A', row group 2 of 2: its data is corrupt: the reader failed on it (…",
    ),
    (
        "corrupt_page_frame_rg2.parquet",
        "column 'Cells_A', row group 2 of 2: its data cannot be decoded: …",
    ),
    (
        "truncated_page.parquet",
        "column 'Cells_A', row group 1 of 1: its pages (45 bytes from byte 259) lie outside the \
         file's data (bytes 4 to 300): the file is truncated or corrupt",
    ),
];

const VALID: &[(&str, (usize, usize))] = &[
    ("valid.csv", (4, 4)),
    ("valid.csv.gz", (4, 4)),
    ("valid.tsv", (4, 4)),
    ("valid.tsv.gz", (4, 4)),
    ("valid_crlf.csv", (4, 4)),
    ("valid_no_final_newline.csv", (4, 4)),
    ("valid_quoted.csv", (2, 3)),
    ("valid.parquet", (4, 4)),
    ("valid_polars.parquet", (4, 4)),
    ("valid_pages.parquet", (10, 4)),
];

fn matches(message: &str, want: &str) -> bool {
    match want.strip_suffix('…') {
        Some(prefix) => message.starts_with(prefix),
        None => message == want,
    }
}

#[test]
fn malformed_files_name_file_line_and_column() {
    // `corrupt_page_data.parquet` and `corrupt_page_values_rg2.parquet` make polars panic
    // (caught by the reader, which keeps it off stderr through its own hook unless a test's
    // hook replaced that one): keep their messages out of the test output, and every other
    // panic's in. The binary's stderr on them is checked in tests/e2e/sweep.rs.
    let previous = std::sync::Arc::new(std::panic::take_hook());
    let chained = previous.clone();
    std::panic::set_hook(Box::new(move |info| {
        if !info
            .location()
            .is_some_and(|l| l.file().contains("/polars-"))
        {
            chained(info);
        }
    }));
    let keep = ReadOptions {
        nonfinite: NonFinitePolicy::Keep,
        ..ReadOptions::default()
    };
    for (name, want) in MALFORMED {
        let path = corpus().join(name);
        let prefix = format!("{}: ", path.display());
        for e in [
            read_table(&path).unwrap_err(),
            read_profiles(&path, &keep).unwrap_err(),
        ] {
            let e = e.to_string();
            let message = e
                .strip_prefix(&prefix)
                .unwrap_or_else(|| panic!("{name}: {e}"));
            assert!(
                matches(message, want),
                "{name}:\n got {message}\nwant {want}"
            );
        }
    }
}

#[test]
fn valid_files_read() {
    let keep = ReadOptions {
        nonfinite: NonFinitePolicy::Keep,
        ..ReadOptions::default()
    };
    for (name, shape) in VALID {
        let path = corpus().join(name);
        assert_eq!(read_table(&path).unwrap().shape(), *shape, "{name}");
        let (p, _) = read_profiles(&path, &keep).unwrap();
        assert_eq!(p.n_rows(), shape.0, "{name}");
    }
}

#[test]
fn every_corpus_file_is_listed() {
    let mut listed: Vec<&str> = MALFORMED.iter().map(|(n, _)| *n).collect();
    listed.extend(VALID.iter().map(|(n, _)| *n));
    for entry in std::fs::read_dir(corpus()).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        assert!(
            listed.contains(&name.as_str()) || name == "README.md",
            "{name} is in the corpus but not in this test"
        );
    }
}
