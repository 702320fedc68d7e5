//! How numbers and missing values are written wherever people read them: notes of the
//! leaderboard, its Markdown and its HTML. Three decimals for raw scores, two for scaled ones,
//! significant digits in messages (a regression of folds of enrichment near 68 and one of an mAP
//! near 0.5 both read well), never `-0.000`.

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

/// `value` rounded to `digits` significant digits, trailing zeros dropped: `0.09999999999999998`
/// reads `0.1`, `68.1234` reads `68.12` (4 digits), `123456` reads `123500`.
pub fn sig(value: f64, digits: u32) -> String {
    if !value.is_finite() {
        return value.to_string();
    }
    if value == 0.0 {
        return "0".to_string();
    }
    let digits = i32::try_from(digits.max(1)).unwrap_or(i32::MAX);
    // The exponent of the leading digit; rounding may carry into the next one (9.9996 → 10).
    let magnitude = value.abs().log10().floor() as i32;
    let decimals = (digits - 1 - magnitude).max(0);
    let text = if decimals > 0 {
        format!("{value:.prec$}", prec = decimals as usize)
    } else {
        let unit = 10f64.powi(magnitude + 1 - digits);
        format!("{:.0}", (value / unit).round() * unit)
    };
    let text = if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        text
    };
    if text.starts_with('-') && text[1..].chars().all(|c| c == '0' || c == '.') {
        "0".to_string()
    } else {
        text
    }
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

    #[test]
    fn significant_digits_round_and_drop_trailing_zeros() {
        assert_eq!(sig(0.09999999999999998, 4), "0.1");
        assert_eq!(sig(0.49721, 4), "0.4972");
        assert_eq!(sig(68.12345, 4), "68.12");
        assert_eq!(sig(-0.00123456, 4), "-0.001235");
        assert_eq!(sig(9.99996, 4), "10");
        assert_eq!(sig(123456.0, 4), "123500");
        assert_eq!(sig(0.0, 4), "0");
        assert_eq!(sig(f64::INFINITY, 4), "inf");
    }
}
