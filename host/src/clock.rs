//! Wall-clock time in UTC epoch milliseconds (the unit of every timestamp in boxoffice).

pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}
