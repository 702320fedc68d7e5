//! Round trips and bad inputs across the readers and writers of `io`: every format, wide
//! tables spanning several column blocks, batched writes and the non-finite policies.

use std::fs::File;
use std::path::{Path, PathBuf};

use polars::prelude::*;

use super::transpose::BLOCK_COLS;
use super::write::write_profiles_batched;
use super::*;
use crate::error::Result;
use crate::profiles::{Level, Profiles};

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

fn read(p: &Path) -> Result<(Profiles, ReadReport)> {
    read_profiles(p, &ReadOptions::default())
}

const GOOD: &str = "Metadata_Plate,Metadata_Well,f1,f2\nP1,A01,1.5,2\nP1,A02,-3,4e-1\n";

#[test]
fn reads_metadata_and_features() {
    let dir = tempfile::tempdir().unwrap();
    let (p, rep) = read(&write(dir.path(), "x.csv", GOOD)).unwrap();
    assert_eq!((p.n_rows(), p.n_features()), (2, 2));
    assert_eq!(p.meta_names(), ["Metadata_Plate", "Metadata_Well"]);
    assert_eq!(p.features(), [1.5, 2.0, -3.0, 0.4]);
    assert_eq!(p.level(), Level::Well);
    assert!(rep.level_guessed);
}

#[test]
fn round_trips_through_every_format() {
    let dir = tempfile::tempdir().unwrap();
    let (p, _) = read(&write(dir.path(), "x.csv", GOOD)).unwrap();
    for name in ["y.csv", "y.csv.gz", "y.tsv", "y.parquet"] {
        let out = dir.path().join(name);
        write_profiles(&p, &out).unwrap();
        let (q, _) = read(&out).unwrap();
        assert_eq!(q.features(), p.features(), "{name}");
        assert_eq!(q.feature_names(), p.feature_names(), "{name}");
        assert_eq!(
            q.meta_strings("Metadata_Well").unwrap(),
            p.meta_strings("Metadata_Well").unwrap()
        );
    }
}

#[test]
fn bad_inputs_name_file_column_and_row() {
    let dir = tempfile::tempdir().unwrap();
    let e = read(&write(dir.path(), "empty.csv", ""))
        .unwrap_err()
        .to_string();
    assert!(e.contains("empty.csv") && e.contains("empty"), "{e}");
    let e = read(&write(dir.path(), "hdr.csv", "Metadata_A,f\n"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("no data rows"), "{e}");
    let e = read(&write(dir.path(), "dup.csv", "Metadata_A,f,g,f\nx,1,2,3\n"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("duplicate column 'f' (columns 2 and 4"), "{e}");
    // The bad value sits after many good rows, so type inference alone would not catch it.
    let mut text = String::from("Metadata_A,f,g\n");
    for i in 0..500 {
        text.push_str(&format!("r{i},{i},1\n"));
    }
    text.push_str("bad,oops,1\n");
    let e = read(&write(dir.path(), "nonnum.csv", &text))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("nonnum.csv: feature column 'f' is not numeric: row 501 holds 'oops'"),
        "{e}"
    );
    let e = read(&write(
        dir.path(),
        "meta.csv",
        "Image_Metadata_Plate,f\nW1,1\n",
    ))
    .unwrap_err()
    .to_string();
    assert!(e.contains("--metadata-prefix Image_Metadata_"), "{e}");
    let e = read(&write(dir.path(), "nofeat.csv", "Metadata_A\nx\n"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("no feature columns"), "{e}");
}

#[test]
fn nonfinite_policies() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(
        dir.path(),
        "nan.csv",
        "Metadata_A,f,g,h\na,1,2,3\nb,4,,6\nc,7,8,inf\nd,NA,1,1\n",
    );
    let e = read(&p).unwrap_err().to_string();
    assert!(
        e.contains("nan.csv: feature column 'g' row 2 is missing"),
        "{e}"
    );
    let opts = |nonfinite| ReadOptions {
        nonfinite,
        ..ReadOptions::default()
    };
    let (rows, rep) = read_profiles(&p, &opts(NonFinitePolicy::DropRows)).unwrap();
    assert_eq!(rows.n_rows(), 1);
    assert_eq!(rep.dropped_rows, [2, 3, 4]);
    assert_eq!(
        rows.meta_strings("Metadata_A").unwrap(),
        [Some("a".to_string())]
    );
    // Every column holds a bad value here, so dropping columns leaves none.
    let e = read_profiles(&p, &opts(NonFinitePolicy::DropColumns)).unwrap_err();
    assert!(e.to_string().contains("no feature columns"), "{e}");
    let p2 = write(dir.path(), "nan2.csv", "Metadata_A,f,g\na,1,NaN\nb,2,3\n");
    let (cols, rep) = read_profiles(&p2, &opts(NonFinitePolicy::DropColumns)).unwrap();
    assert_eq!(cols.feature_names(), ["f"]);
    assert_eq!(rep.dropped_columns, ["g"]);
    let (kept, _) = read_profiles(&p2, &opts(NonFinitePolicy::Keep)).unwrap();
    assert!(kept.features()[1].is_nan());
    assert_eq!(kept.nonfinite_count(), 1);
}

#[test]
fn custom_metadata_prefix() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(
        dir.path(),
        "raw.csv",
        "Image_Metadata_Plate,Image_Metadata_Well,Cells_A\nW1,A01,1\n",
    );
    let opts = ReadOptions {
        metadata_prefixes: vec!["Image_Metadata_".into()],
        ..ReadOptions::default()
    };
    let (prof, _) = read_profiles(&p, &opts).unwrap();
    assert_eq!(
        prof.meta_names(),
        ["Image_Metadata_Plate", "Image_Metadata_Well"]
    );
}

/// A table wider than one conversion block, with non-finite values in several blocks.
fn wide_table(dir: &Path) -> (PathBuf, Vec<Vec<f64>>) {
    let (n, d) = (7, 2 * BLOCK_COLS + 5);
    let mut vals = vec![vec![0f64; d]; n];
    let mut text = String::from("Metadata_Well");
    for j in 0..d {
        text.push_str(&format!(",f{j}"));
    }
    text.push('\n');
    for (i, row) in vals.iter_mut().enumerate() {
        text.push_str(&format!("w{i}"));
        for (j, v) in row.iter_mut().enumerate() {
            *v = match (i, j) {
                (3, 40) | (5, 1) => f64::NAN,
                (3, 60) => f64::INFINITY,
                _ => (i * d + j) as f64 / 8.0 - 20.0,
            };
            text.push_str(&format!(",{v}"));
        }
        text.push('\n');
    }
    (write(dir, "wide.csv", &text), vals)
}

#[test]
fn wide_tables_keep_row_major_order_and_policies() {
    let dir = tempfile::tempdir().unwrap();
    let (csv, vals) = wide_table(dir.path());
    // Parquet features are read a block of columns at a time; text ones are parsed at once.
    let pq = dir.path().join("wide.parquet");
    write_table(&mut read_table(&csv).unwrap(), &pq).unwrap();
    for p in [csv, pq] {
        check_wide(&p, &vals);
    }
}

fn check_wide(p: &Path, vals: &[Vec<f64>]) {
    let p = p.to_path_buf();
    let opts = |nonfinite| ReadOptions {
        nonfinite,
        ..ReadOptions::default()
    };
    let (kept, _) = read_profiles(&p, &opts(NonFinitePolicy::Keep)).unwrap();
    let d = vals[0].len();
    for (i, row) in vals.iter().enumerate() {
        for (j, &v) in row.iter().enumerate() {
            let got = kept.features()[i * d + j];
            assert!(
                got == v as f32 || (got.is_nan() && v.is_nan()),
                "({i}, {j})"
            );
        }
    }
    // Row 4 holds the first bad value; its earliest bad column is f40, not f60.
    let e = read(&p).unwrap_err().to_string();
    assert!(e.contains("feature column 'f40' row 4 is NaN"), "{e}");
    let (rows, rep) = read_profiles(&p, &opts(NonFinitePolicy::DropRows)).unwrap();
    assert_eq!(rep.dropped_rows, [4, 6]);
    let want: Vec<f32> = [0, 1, 2, 4, 6]
        .iter()
        .flat_map(|&i| vals[i].iter().map(|&v| v as f32))
        .collect();
    assert_eq!(rows.features(), want);
    assert_eq!(
        rows.meta_strings("Metadata_Well").unwrap()[3].as_deref(),
        Some("w4")
    );
    let (cols, rep) = read_profiles(&p, &opts(NonFinitePolicy::DropColumns)).unwrap();
    assert_eq!(rep.dropped_columns, ["f1", "f40", "f60"]);
    let keep = |j: &usize| ![1, 40, 60].contains(j);
    let want: Vec<f32> = vals
        .iter()
        .flat_map(|r| (0..d).filter(keep).map(|j| r[j] as f32))
        .collect();
    assert_eq!(cols.features(), want);
    assert_eq!(cols.n_features(), d - 3);
    assert_eq!(cols.feature_names()[1], "f2");
}

#[test]
fn batched_writes_round_trip_in_every_format() {
    let dir = tempfile::tempdir().unwrap();
    let (p, _) = wide_table(dir.path());
    let opts = ReadOptions {
        nonfinite: NonFinitePolicy::Keep,
        ..ReadOptions::default()
    };
    let (prof, _) = read_profiles(&p, &opts).unwrap();
    for name in ["b.csv", "b.csv.gz", "b.tsv", "b.parquet"] {
        let out = dir.path().join(name);
        // Batches of 3 rows leave a short last batch.
        write_profiles_batched(&prof, &out, 3).unwrap();
        let (back, _) = read_profiles(&out, &opts).unwrap();
        assert_eq!(back.feature_names(), prof.feature_names(), "{name}");
        assert_eq!(
            back.meta_strings("Metadata_Well").unwrap(),
            prof.meta_strings("Metadata_Well").unwrap(),
            "{name}"
        );
        let same = |a: &f32, b: &f32| a == b || (a.is_nan() && b.is_nan());
        assert!(
            back.features()
                .iter()
                .zip(prof.features())
                .all(|(a, b)| same(a, b)),
            "{name}"
        );
        assert_eq!(back.features().len(), prof.features().len(), "{name}");
    }
    let file = File::open(dir.path().join("b.parquet")).unwrap();
    let mut reader = ParquetReader::new(file);
    let groups: Vec<usize> = (reader.get_metadata().unwrap().row_groups.iter())
        .map(|g| g.num_rows())
        .collect();
    assert_eq!(groups, [3, 3, 1]);
}

#[test]
fn parquet_profiles_read_back_as_polars_writes_them() {
    // Metadata of several types (nulls included), non-finite features, row groups of 3
    // rows, and a batch smaller than the thread count's share of columns.
    let dir = tempfile::tempdir().unwrap();
    let (n, d) = (8, 2 * BLOCK_COLS + 3);
    let meta = df!(
        "Metadata_Well" => ["a", "b", "c", "d", "e", "f", "g", "h"],
        "Metadata_Dose" => [Some(0.1f64), None, Some(1.0), Some(3.0), None, Some(0.5), Some(2.0), Some(9.0)],
        "Metadata_Site" => [1i64, 2, 3, 4, 5, 6, 7, 8],
        "Metadata_Note" => [Some("x"), None, Some("y"), None, None, Some("z"), Some(""), Some("w")],
        "Metadata_Ok" => [true, false, true, true, false, false, true, true],
    )
    .unwrap();
    let mut x: Vec<f32> = (0..n * d).map(|k| k as f32 * 0.37 - 50.0).collect();
    (x[5], x[d + 7], x[3 * d + 40]) = (f32::NAN, f32::INFINITY, f32::NEG_INFINITY);
    let names: Vec<String> = (0..d).map(|j| format!("Cells_F{j}")).collect();
    let prof = Profiles::new(meta, x, names, Level::Well).unwrap();
    let ours = dir.path().join("ours.parquet");
    write_profiles_batched(&prof, &ours, 3).unwrap();
    let polars_own = dir.path().join("polars.parquet");
    write_table(&mut to_frame(&prof).unwrap(), &polars_own).unwrap();
    let (a, b) = (read_table(&ours).unwrap(), read_table(&polars_own).unwrap());
    assert_eq!(a.schema(), b.schema());
    assert!(a.equals_missing(&b), "{a}\n{b}");
    let file = File::open(&ours).unwrap();
    let md = ParquetReader::new(file).get_metadata().unwrap().clone();
    let groups: Vec<usize> = md.row_groups.iter().map(|g| g.num_rows()).collect();
    assert_eq!(groups, [3, 3, 2]);
}

#[test]
fn parquet_nulls_read_as_missing_and_nan_as_nan() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("n.parquet");
    let mut df = df!(
        "Metadata_A" => ["a", "b", "c"],
        "f" => [Some(1f32), Some(f32::NAN), Some(3.0)],
        "g" => [Some(1f64), None, Some(2.5)],
    )
    .unwrap();
    write_table(&mut df, &out).unwrap();
    let e = read(&out).unwrap_err().to_string();
    assert!(e.contains("feature column 'f' row 2 is NaN"), "{e}");
    let opts = ReadOptions {
        nonfinite: NonFinitePolicy::Keep,
        ..ReadOptions::default()
    };
    let (p, _) = read_profiles(&out, &opts).unwrap();
    let x = p.features();
    assert_eq!((x[0], x[1], x[4], x[5]), (1.0, 1.0, 3.0, 2.5));
    assert!(x[2].is_nan() && x[3].is_nan());
    let mut df = df!("Metadata_A" => ["a", "b"], "g" => [Some(1f64), None]).unwrap();
    write_table(&mut df, &out).unwrap();
    let e = read(&out).unwrap_err().to_string();
    assert!(e.contains("feature column 'g' row 2 is missing"), "{e}");
}

#[test]
fn selected_rows_match_reading_everything_then_filtering() {
    let dir = tempfile::tempdir().unwrap();
    let (csv, vals) = wide_table(dir.path());
    let pq = dir.path().join("wide.parquet");
    write_table(&mut read_table(&csv).unwrap(), &pq).unwrap();
    let d = vals[0].len();
    let opts = |nonfinite| ReadOptions {
        nonfinite,
        ..ReadOptions::default()
    };
    for p in [csv, pq] {
        // Rows 3 and 5 hold the NaN and the infinity: leaving them out, nothing is non-finite.
        let keep = [0, 2, 4, 6];
        let open = OpenProfiles::open(&p, &opts(NonFinitePolicy::Error)).unwrap();
        assert_eq!(open.n_rows(), 7);
        assert_eq!(open.feature_names().len(), d);
        let (sel, _) = open.read::<f32>(None, Some(&keep)).unwrap();
        let want: Vec<f32> = keep
            .iter()
            .flat_map(|&i| vals[i].iter().map(|&v| v as f32))
            .collect();
        assert_eq!(sel.features(), want, "{}", p.display());
        let wells: Vec<Option<String>> = keep.iter().map(|i| Some(format!("w{i}"))).collect();
        assert_eq!(sel.meta_strings("Metadata_Well").unwrap(), wells);

        // A non-finite value is reported at its row of the file, not of the selection.
        let open = OpenProfiles::open(&p, &opts(NonFinitePolicy::Error)).unwrap();
        let e = open
            .read::<f32>(None, Some(&[1, 5]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("column 'f1' row 6"), "{e}");
        let open = OpenProfiles::open(&p, &opts(NonFinitePolicy::DropRows)).unwrap();
        let (rows, rep) = open.read::<f32>(None, Some(&[2, 3, 4])).unwrap();
        assert_eq!((rows.n_rows(), rep.dropped_rows.clone()), (2, vec![4]));

        // Metadata given by the caller (e.g. with joined columns) travels with the rows.
        let open = OpenProfiles::open(&p, &opts(NonFinitePolicy::Keep)).unwrap();
        let mut meta = open.metadata().unwrap();
        let tag: Vec<String> = (0..7).map(|i| format!("t{i}")).collect();
        meta.with_column(Column::new("Metadata_Tag".into(), tag))
            .unwrap();
        let (sel, _) = open.read::<f32>(Some(meta), Some(&[1, 6])).unwrap();
        assert_eq!(
            sel.meta_strings("Metadata_Tag").unwrap(),
            [Some("t1".to_string()), Some("t6".to_string())]
        );

        // Selections that cannot be right are refused.
        for bad in [&[][..], &[2, 1][..], &[7][..]] {
            let open = OpenProfiles::open(&p, &opts(NonFinitePolicy::Keep)).unwrap();
            assert!(open.read::<f32>(None, Some(bad)).is_err(), "{bad:?}");
        }
        let open = OpenProfiles::open(&p, &opts(NonFinitePolicy::Keep)).unwrap();
        let short = open.metadata().unwrap().head(Some(3));
        let e = open.read::<f32>(Some(short), None).unwrap_err().to_string();
        assert!(e.contains("metadata of 3 rows"), "{e}");
    }
}
