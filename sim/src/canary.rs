//! Canary personal data. Every PII field a simulator emits is built from these, so a test can
//! sweep any store, log or scrape for them: finding one means personal data leaked.

/// The canary e-mail address.
pub const EMAIL: &str = "canary.name@example.invalid";
/// The canary phone number.
pub const PHONE: &str = "+00 000 CANARY";
/// The canary first name / name fragment.
pub const NAME: &str = "CanaryName";
/// The canary surname.
pub const SURNAME: &str = "CanarySurname";

/// Everything a leak sweep must look for (scan codes and barcodes are checked separately,
/// because they are per ticket).
pub const ALL: [&str; 4] = [EMAIL, PHONE, NAME, SURNAME];

/// Per-buyer e-mail, still recognisable as the canary (`canary.name+42@example.invalid`).
pub fn email(n: u64) -> String {
    format!("canary.name+{n}@example.invalid")
}
