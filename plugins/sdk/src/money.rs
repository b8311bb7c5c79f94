//! Money to integer minor units, without floats where the vendor sends integers.

/// A JSON number in major units (roubles, euros) to minor units (kopecks, cents), rounding
/// half away from zero at the 3rd decimal. `None` for non-numbers.
pub fn major_to_minor(v: &serde_json::Value) -> Option<i64> {
    let n = v.as_number()?;
    if let Some(i) = n.as_i64() {
        return i.checked_mul(100);
    }
    let f = n.as_f64()?;
    if !f.is_finite() || f.abs() > 9.0e16 {
        return None;
    }
    Some((f * 100.0).round() as i64)
}

/// Currency codes trimmed and upper-cased (Shotgun sends `eur`); borrowed when the vendor
/// already sends them so.
pub fn currency(code: &str) -> std::borrow::Cow<'_, str> {
    let code = code.trim();
    if code.bytes().any(|b| b.is_ascii_lowercase()) {
        code.to_ascii_uppercase().into()
    } else {
        code.into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn converts_integers_and_decimals() {
        assert_eq!(major_to_minor(&json!(1500)), Some(150_000));
        assert_eq!(major_to_minor(&json!(1222.03)), Some(122_203));
        assert_eq!(major_to_minor(&json!(0.1)), Some(10));
        assert_eq!(major_to_minor(&json!(-5.5)), Some(-550));
        assert_eq!(major_to_minor(&json!("12")), None);
        assert_eq!(major_to_minor(&json!(null)), None);
        assert_eq!(currency(" eur"), "EUR");
    }
}
