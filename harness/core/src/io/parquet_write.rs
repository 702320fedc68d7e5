//! Writing profiles as Parquet with polars' own Parquet layer: one row group per batch of rows,
//! metadata columns in polars' encodings, feature columns plain-encoded without min/max
//! statistics (`Float32`, or `Float64` for `Profiles<f64>`), transposed, encoded and
//! Snappy-compressed on several threads. The file reads back exactly as one polars'
//! `ParquetWriter` would write.

use std::fs::File;
use std::io::{BufWriter, Write};

use polars::prelude::*;

use super::transpose::{BLOCK_COLS, gather_columns};
use super::values::FeatureFloat;
use crate::profiles::Profiles;

/// Writes profiles as Parquet, one row group per batch of rows. polars' `ParquetWriter` tries a
/// dictionary for every float column (a cardinality estimate over all values) and takes the
/// columns from a row-major copy built on one thread; here feature columns are plain-encoded
/// (measured values are nearly all distinct) and each thread transposes, encodes and compresses
/// its own share of them. Metadata columns keep polars' encodings. Snappy, as polars and pandas
/// write by default: float features barely compress, and zstd would cost seconds.
pub(super) fn write_parquet_profiles<T: FeatureFloat>(
    profiles: &Profiles<T>,
    file: &mut File,
    batch_rows: usize,
) -> PolarsResult<()> {
    use polars_arrow::array::PrimitiveArray;
    use polars_arrow::datatypes::ArrowDataType;
    use polars_parquet::write::{
        CompressedPage, CompressionOptions, DynIter, DynStreamingIterator, Encoding, FileWriter,
        StatisticsOptions, Version, WriteOptions, array_to_columns, compress,
        fallible_streaming_iterator, get_dtype_encoding,
    };

    let (n, d) = (profiles.n_rows(), profiles.n_features());
    let meta = profiles.meta();
    let mut schema = meta.schema().to_arrow(CompatLevel::newest());
    for name in profiles.feature_names() {
        let name = PlSmallStr::from_str(name);
        schema.insert(
            name.clone(),
            ArrowField::new(name, ArrowDataType::from(T::PRIMITIVE), true),
        );
    }
    // `Profiles::new` refuses repeated names, so no column was overwritten in the schema.
    debug_assert_eq!(schema.len(), meta.width() + d);
    let options = WriteOptions {
        statistics: StatisticsOptions::default(),
        compression: CompressionOptions::Snappy,
        version: Version::V1,
        data_page_size: None,
    };
    // A large buffer turns the many small page writes into few large ones (0.24 s -> 0.15 s of
    // write calls for a 400 MB table).
    let buffered = BufWriter::with_capacity(1 << 20, file);
    let mut writer = FileWriter::try_new(buffered, schema, options)?;
    let types = writer.parquet_schema().fields().to_vec();
    let meta_encodings: Vec<Vec<Encoding>> = writer
        .schema()
        .iter_values()
        .take(meta.width())
        .map(|f| get_dtype_encoding(&f.dtype))
        .collect();
    // Min/max statistics serve predicate pushdown on keys; on float features nobody filters by
    // them, and they cost a pass over every value.
    let feature_options = WriteOptions {
        statistics: StatisticsOptions {
            min_value: false,
            max_value: false,
            ..StatisticsOptions::default()
        },
        ..options
    };
    let encode = |array: Box<dyn polars_arrow::array::Array>,
                  type_: &polars_parquet::write::ParquetType,
                  encoding: &[Encoding],
                  options: WriteOptions|
     -> PolarsResult<Vec<Vec<CompressedPage>>> {
        array_to_columns(array, type_.clone(), options, encoding)?
            .into_iter()
            .map(|pages| {
                pages
                    .map(|page| Ok(compress(page?, Vec::new(), options.compression)?))
                    .collect()
            })
            .collect()
    };
    let threads = std::thread::available_parallelism().map_or(1, |t| t.get());
    let features = profiles.features();
    for start in (0..n.max(1)).step_by(batch_rows.max(1)) {
        let len = batch_rows.min(n - start);
        let rows = &features[start * d..(start + len) * d];
        let mut columns: Vec<Vec<CompressedPage>> = Vec::with_capacity(types.len());
        for ((col, type_), encoding) in meta
            .slice(start as i64, len)
            .columns()
            .iter()
            .zip(&types)
            .zip(&meta_encodings)
        {
            let array = col
                .as_materialized_series()
                .rechunk()
                .to_arrow(0, CompatLevel::newest());
            columns.extend(encode(array, type_, encoding, options)?);
        }
        // Contiguous shares of the feature columns, one per thread, in column order.
        let share = d.div_ceil(threads).max(1);
        let encoded: Vec<PolarsResult<Vec<Vec<CompressedPage>>>> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..d)
                .step_by(share)
                .map(|j0| {
                    let types = &types[meta.width()..];
                    let encode = &encode;
                    scope.spawn(move || -> PolarsResult<Vec<Vec<CompressedPage>>> {
                        let mut out = Vec::new();
                        let j_end = (j0 + share).min(d);
                        // A block of columns per pass over the rows reads each row once per block.
                        for b0 in (j0..j_end).step_by(BLOCK_COLS) {
                            let width = BLOCK_COLS.min(j_end - b0);
                            for (k, values) in
                                gather_columns(rows, d, b0, width).into_iter().enumerate()
                            {
                                let array = PrimitiveArray::<T>::from_vec(values).boxed();
                                out.extend(encode(
                                    array,
                                    &types[b0 + k],
                                    &[Encoding::Plain],
                                    feature_options,
                                )?);
                            }
                        }
                        Ok(out)
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("a Parquet encoding thread panicked"))
                .collect()
        });
        for part in encoded {
            columns.extend(part?);
        }
        let group = DynIter::new(columns.iter().map(|pages| {
            Ok(DynStreamingIterator::new(
                fallible_streaming_iterator::convert(pages.iter().map(Ok)),
            ))
        }));
        writer.write(len as u64, group)?;
    }
    writer.end(None)?;
    // Flushed here: dropping the buffer would swallow a write error (a full disk).
    writer.into_inner().flush()?;
    Ok(())
}
