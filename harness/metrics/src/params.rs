//! The allowed ranges of the metrics' user-facing parameters, each defined once.
//!
//! A parameter can be written in a benchmark manifest (`restarts = 0` in a `[[task]]`) or on
//! the command line (`--restarts 0`); the manifest loader and the runner's parameter types
//! both check the value here, and the algorithms' own option checks call the same functions,
//! so one value is refused with one reason wherever it was written. Each check returns
//! [`MetricError::InvalidParameter`] with the parameter's snake_case name; the caller renders
//! that name as the manifest key or the flag the user wrote.

use crate::MetricError;

fn invalid(name: &'static str, value: impl ToString, reason: &str) -> MetricError {
    MetricError::InvalidParameter {
        name,
        value: value.to_string(),
        reason: reason.to_owned(),
    }
}

/// Draws of a null distribution (`null_size`, mAP and percent replicating): at least 1.
pub fn null_size(value: u64) -> Result<(), MetricError> {
    if value == 0 {
        return Err(invalid(
            "null_size",
            value,
            "the null needs at least one draw",
        ));
    }
    Ok(())
}

/// q-value threshold of mAP's fraction retrieved (`threshold`): in (0, 1].
pub fn threshold(value: f64) -> Result<(), MetricError> {
    if !(value > 0.0 && value <= 1.0) {
        return Err(invalid("threshold", value, "must be in (0, 1]"));
    }
    Ok(())
}

/// Percentile of each query's similarities used as the enrichment threshold (`percentile`):
/// in (0, 100]. At 0 every neighbour is above the threshold and the fold is 1 by construction.
pub fn percentile(value: f64) -> Result<(), MetricError> {
    if !(value > 0.0 && value <= 100.0) {
        return Err(invalid("percentile", value, "must be in (0, 100]"));
    }
    Ok(())
}

/// Quantile of the non-replicate similarities (`quantile`, percent replicating): in [0, 1].
pub fn quantile(value: f64) -> Result<(), MetricError> {
    if !(0.0..=1.0).contains(&value) {
        return Err(invalid("quantile", value, "must be in [0, 1]"));
    }
    Ok(())
}

/// Neighbours that vote or are retrieved (`name` is `k` or `knn_k`): at least 1.
pub fn neighbours(name: &'static str, value: u64) -> Result<(), MetricError> {
    if value == 0 {
        return Err(invalid(name, value, "at least one neighbour must vote"));
    }
    Ok(())
}

/// Several neighbour counts (`k_values`): at least one, each at least 1, none twice.
pub fn neighbour_list(name: &'static str, values: &[u64]) -> Result<(), MetricError> {
    let shown = || {
        let parts: Vec<String> = values.iter().map(u64::to_string).collect();
        format!("[{}]", parts.join(", "))
    };
    if values.is_empty() {
        return Err(invalid(name, shown(), "must list at least one value"));
    }
    if values.contains(&0) {
        return Err(invalid(name, 0, "every k must be at least 1"));
    }
    if let Some((j, k)) = values
        .iter()
        .enumerate()
        .find(|&(j, k)| values[..j].contains(k))
    {
        return Err(invalid(
            name,
            k,
            &format!("listed twice (position {} of {})", j + 1, shown()),
        ));
    }
    Ok(())
}

/// Clusters scored against labels (`k`, k-means): at least 2 — a single cluster carries no
/// information about the labels, yet scores a perfect purity on one-label data.
pub fn clusters(value: u64) -> Result<(), MetricError> {
    if value < 2 {
        return Err(invalid(
            "k",
            value,
            "k-means needs at least 2 clusters to be scored against labels",
        ));
    }
    Ok(())
}

/// The inclusive range of cluster counts of a k sweep (`k_sweep`): 2 ≤ first ≤ last.
pub fn k_sweep(first: u64, last: u64) -> Result<(), MetricError> {
    if first < 2 || first > last {
        return Err(invalid(
            "k_sweep",
            format!("[{first}, {last}]"),
            "not a range of cluster counts: need 2 ≤ first ≤ last",
        ));
    }
    Ok(())
}

/// Seeded k-means restarts (`restarts`): at least 1.
pub fn restarts(value: u64) -> Result<(), MetricError> {
    if value == 0 {
        return Err(invalid("restarts", value, "at least one restart is needed"));
    }
    Ok(())
}

/// Lloyd iterations per restart (`max_iter`): at least 1.
pub fn max_iter(value: u64) -> Result<(), MetricError> {
    if value == 0 {
        return Err(invalid(
            "max_iter",
            value,
            "at least one iteration is needed",
        ));
    }
    Ok(())
}

/// Convergence tolerance (`tol`): finite and ≥ 0.
pub fn tol(value: f64) -> Result<(), MetricError> {
    if !(value.is_finite() && value >= 0.0) {
        return Err(invalid("tol", value, "must be finite and ≥ 0"));
    }
    Ok(())
}

/// Cross-validation folds (`folds`): at least 2.
pub fn folds(value: u64) -> Result<(), MetricError> {
    if value < 2 {
        return Err(invalid(
            "folds",
            value,
            "cross-validation needs at least 2 folds",
        ));
    }
    Ok(())
}

/// Inverse regularization strength of the logistic regression (`c`): finite and > 0.
pub fn inverse_regularization(value: f64) -> Result<(), MetricError> {
    if !(value.is_finite() && value > 0.0) {
        return Err(invalid("c", value, "must be finite and > 0"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name_and_reason(e: MetricError) -> (&'static str, String, String) {
        match e {
            MetricError::InvalidParameter {
                name,
                value,
                reason,
            } => (name, value, reason),
            other => panic!("not a parameter error: {other}"),
        }
    }

    #[test]
    fn each_bound_is_where_the_docs_say() {
        assert!(null_size(1).is_ok() && null_size(0).is_err());
        assert!(threshold(1.0).is_ok() && threshold(0.0).is_err() && threshold(f64::NAN).is_err());
        assert!(percentile(100.0).is_ok() && percentile(0.0).is_err());
        assert!(percentile(100.5).is_err());
        assert!(quantile(0.0).is_ok() && quantile(1.0).is_ok() && quantile(-0.1).is_err());
        assert!(quantile(f64::NAN).is_err());
        assert!(neighbours("k", 1).is_ok() && neighbours("k", 0).is_err());
        assert!(clusters(2).is_ok() && clusters(1).is_err());
        assert!(k_sweep(2, 2).is_ok() && k_sweep(1, 5).is_err() && k_sweep(5, 4).is_err());
        assert!(restarts(1).is_ok() && restarts(0).is_err());
        assert!(max_iter(1).is_ok() && max_iter(0).is_err());
        assert!(tol(0.0).is_ok() && tol(-1e-9).is_err() && tol(f64::INFINITY).is_err());
        assert!(folds(2).is_ok() && folds(1).is_err());
        assert!(inverse_regularization(1.0).is_ok() && inverse_regularization(0.0).is_err());
    }

    #[test]
    fn a_neighbour_list_names_what_is_wrong() {
        assert!(neighbour_list("k_values", &[1, 5, 10]).is_ok());
        let (name, value, reason) = name_and_reason(neighbour_list("k_values", &[]).unwrap_err());
        assert_eq!((name, value.as_str()), ("k_values", "[]"));
        assert_eq!(reason, "must list at least one value");
        let (_, value, reason) = name_and_reason(neighbour_list("k_values", &[5, 0]).unwrap_err());
        assert_eq!(
            (value.as_str(), reason.as_str()),
            ("0", "every k must be at least 1")
        );
        let (_, value, reason) =
            name_and_reason(neighbour_list("k_values", &[1, 5, 1]).unwrap_err());
        assert_eq!(value, "1");
        assert_eq!(reason, "listed twice (position 3 of [1, 5, 1])");
    }

    #[test]
    fn errors_carry_the_snake_case_name_and_the_value() {
        let (name, value, _) = name_and_reason(k_sweep(1, 3).unwrap_err());
        assert_eq!((name, value.as_str()), ("k_sweep", "[1, 3]"));
        let (name, value, _) = name_and_reason(tol(-1.0).unwrap_err());
        assert_eq!((name, value.as_str()), ("tol", "-1"));
    }
}
