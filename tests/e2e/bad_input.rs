//! Every kind of bad input stops with exit code 2 and a message naming file, column and row.

use std::path::{Path, PathBuf};

use super::fails_with_2;

fn file(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

fn info_err(p: &Path, extra: &[&str]) -> String {
    let mut args = vec!["info", p.to_str().unwrap()];
    args.extend_from_slice(extra);
    fails_with_2(&args)
}

#[test]
fn unreadable_or_unknown_files() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope.csv");
    let e = info_err(&missing, &[]);
    assert!(e.contains("nope.csv") && e.contains("No such file"), "{e}");
    let e = info_err(&file(dir.path(), "x.xlsx", "a"), &[]);
    assert!(e.contains("x.xlsx: unsupported format"), "{e}");
    let e = info_err(&file(dir.path(), "bad.csv.gz", "not gzip"), &[]);
    assert!(e.contains("bad.csv.gz") && e.contains("gzip"), "{e}");
}

#[test]
fn empty_and_header_only() {
    let dir = tempfile::tempdir().unwrap();
    let e = info_err(&file(dir.path(), "empty.csv", ""), &[]);
    assert!(e.contains("empty.csv: the file is empty"), "{e}");
    let e = info_err(&file(dir.path(), "hdr.csv", "Metadata_A,f\n"), &[]);
    assert!(
        e.contains("hdr.csv: the table has a header but no data rows"),
        "{e}"
    );
}

#[test]
fn duplicate_columns() {
    let dir = tempfile::tempdir().unwrap();
    let e = info_err(&file(dir.path(), "dup.csv", "Metadata_A,f,f\nx,1,2\n"), &[]);
    assert!(
        e.contains("dup.csv: line 1 (the header): duplicate column 'f' (columns 2 and 3"),
        "{e}"
    );
}

#[test]
fn non_numeric_feature() {
    let dir = tempfile::tempdir().unwrap();
    let e = info_err(
        &file(dir.path(), "t.csv", "Metadata_A,f,g\nx,1,2\ny,2,abc\n"),
        &[],
    );
    assert!(
        e.contains("t.csv: feature column 'g' is not numeric: row 2 holds 'abc'"),
        "{e}"
    );
}

#[test]
fn nonfinite_values_under_the_error_policy() {
    let dir = tempfile::tempdir().unwrap();
    let p = file(
        dir.path(),
        "n.csv",
        "Metadata_A,f,g\nx,1,2\ny,inf,3\nz,NaN,4\n",
    );
    let e = info_err(&p, &["--on-nonfinite", "error"]);
    assert!(e.contains("n.csv: feature column 'f' row 2 is inf"), "{e}");
    // The default for `info` counts them instead.
    let v = super::info_json(&[p.to_str().unwrap()]);
    assert_eq!(
        (v["nan_values"].as_u64(), v["infinite_values"].as_u64()),
        (Some(1), Some(1))
    );
    let v = super::info_json(&[p.to_str().unwrap(), "--on-nonfinite", "drop-rows"]);
    assert_eq!(v["rows"], 1);
}

#[test]
fn missing_columns_and_bad_filters() {
    let dir = tempfile::tempdir().unwrap();
    let p = file(dir.path(), "t.csv", "Metadata_Plate,f\nP1,1\n");
    let e = info_err(&p, &["--filter", "Metadata_plate=P1"]);
    assert!(
        e.contains("no column 'Metadata_plate' (did you mean Metadata_Plate?)"),
        "{e}"
    );
    let e = info_err(&p, &["--filter", "Metadata_Plate"]);
    assert!(
        e.contains("row filter 'Metadata_Plate': expected COL=VALUE"),
        "{e}"
    );
    let e = info_err(&p, &["--features", "(oops"]);
    assert!(e.contains("feature selector '(oops'"), "{e}");
    let e = info_err(&p, &["--features", "^zzz"]);
    assert!(e.contains("kept none of 1 features"), "{e}");
}

#[test]
fn usage_errors_exit_2() {
    let e = fails_with_2(&["info"]);
    assert!(e.contains("Usage"), "{e}");
    let e = fails_with_2(&["info", "x.csv", "--level", "plate"]);
    assert!(e.contains("unknown level 'plate'"), "{e}");
    fails_with_2(&["no-such-command"]);
}
