//! How numbers and missing values are written wherever people read them: notes of the
//! leaderboard, its Markdown and its HTML. Three decimals for raw scores, two for scaled ones,
//! never `-0.000`.

/// What an absent value is written as.
pub const MISSING: &str = "—";

/// `value` with `decimals` decimals; `-0.000` reads as a sign error, so zero is printed plainly.
pub fn fixed(value: f64, decimals: usize) -> String {
    let text = format!("{value:.decimals$}");
    if text.starts_with('-') && text[1..].chars().all(|c| c == '0' || c == '.') {
        text[1..].to_string()
    } else {
        text
    }
}

/// A raw score: three decimals.
pub fn fmt_raw(value: f64) -> String {
    fixed(value, 3)
}

/// A scaled score, or [`MISSING`]: two decimals.
pub fn fmt_opt_scaled(value: Option<f64>) -> String {
    value.map_or_else(|| MISSING.to_string(), |v| fixed(v, 2))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_formatted_without_negative_zero() {
        assert_eq!(fmt_raw(-0.0001), "0.000");
        assert_eq!(fmt_raw(-0.0006), "-0.001");
        assert_eq!(fixed(-0.004, 2), "0.00");
        assert_eq!(fmt_opt_scaled(Some(-0.001)), "0.00");
        assert_eq!(fmt_opt_scaled(None), MISSING);
    }
}
