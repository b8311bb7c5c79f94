//! Minor-unit exponents of ISO 4217 currencies: how many decimal digits a currency's minor unit
//! has (EUR 2, JPY 0, KWD 3). Shared by connectors (vendor decimals → minor units) and the host
//! (minor units → the major units `/metrics` reports), so both read amounts the same way.

/// Minor digits of an ISO 4217 currency code (upper case); 2 for codes not listed, the
/// exponent of most currencies.
pub fn minor_exponent(currency: &str) -> u32 {
    match currency {
        "BIF" | "CLP" | "DJF" | "GNF" | "ISK" | "JPY" | "KMF" | "KRW" | "PYG" | "RWF" | "UGX"
        | "UYI" | "VND" | "VUV" | "XAF" | "XOF" | "XPF" => 0,
        "BHD" | "IQD" | "JOD" | "KWD" | "LYD" | "OMR" | "TND" => 3,
        "CLF" | "UYW" => 4,
        _ => 2,
    }
}

/// An amount in minor units as major units (for display and metrics; money is stored in
/// minor units, never as a float).
pub fn to_major(minor: i64, currency: &str) -> f64 {
    minor as f64 / 10f64.powi(minor_exponent(currency) as i32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exponents_follow_iso_4217() {
        assert_eq!(minor_exponent("EUR"), 2);
        assert_eq!(minor_exponent("RUB"), 2);
        assert_eq!(minor_exponent("JPY"), 0);
        assert_eq!(minor_exponent("KWD"), 3);
        assert_eq!(minor_exponent("CLF"), 4);
    }

    #[test]
    fn major_units_divide_by_the_currency_s_own_exponent() {
        assert_eq!(to_major(8950, "EUR"), 89.5);
        assert_eq!(to_major(3500, "JPY"), 3500.0);
        assert_eq!(to_major(1250, "KWD"), 1.25);
        assert_eq!(to_major(-250, "EUR"), -2.5);
    }
}
