//! Reading vendor answers: which requests are auxiliary, and list errors that name the record.
//!
//! Owns two small conventions every connector shares; no vendor knowledge.
//!
//! **Auxiliary requests.** A request whose id starts with [`AUXILIARY_PREFIX`]
//! (`aux:<kind>[:<anything>]`) fetches data the run can do without (events, seat inventory).
//! When such a request fails — no answer, an answer the connector refuses (`bad-response`,
//! `unauthorized`, `retry-later`) — the host records the run as degraded and carries on with the
//! core requests (orders, tickets) instead of failing the run. Every other id is core: its
//! failure fails the run as before. The convention lives in the id because the WIT 0.2 shapes
//! are frozen; `<kind>` (lower-case letters, digits, `_`, `-`; at most 32) becomes a metric
//! label, so it must name a kind of request, never a record.

use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, Deserialize, Deserializer, SeqAccess, Visitor};

/// Ids of auxiliary requests start with this (see the module doc).
pub const AUXILIARY_PREFIX: &str = "aux:";

/// The id of an auxiliary request of `kind`, with `rest` (e.g. record ids) after it.
pub fn auxiliary_id(kind: &str, rest: &str) -> String {
    if rest.is_empty() {
        format!("{AUXILIARY_PREFIX}{kind}")
    } else {
        format!("{AUXILIARY_PREFIX}{kind}:{rest}")
    }
}

/// For `#[serde(deserialize_with = "indexed")]` on a list of records: an element that does not
/// read fails with its 0-based index (`record 7: missing field `id``), so a bad page names the
/// field and the record.
pub fn indexed<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    struct V<T>(PhantomData<T>);
    impl<'de, T: Deserialize<'de>> Visitor<'de> for V<T> {
        type Value = Vec<T>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a list of records")
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut s: A) -> Result<Vec<T>, A::Error> {
            let mut out = Vec::with_capacity(s.size_hint().unwrap_or(0).min(1024));
            loop {
                match s.next_element::<T>() {
                    Ok(Some(v)) => out.push(v),
                    Ok(None) => return Ok(out),
                    Err(e) => {
                        return Err(de::Error::custom(format_args!("record {}: {e}", out.len())))
                    }
                }
            }
        }
    }
    d.deserialize_seq(V(PhantomData))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, Debug)]
    struct Row {
        #[allow(dead_code)]
        id: u64,
    }

    #[derive(serde::Deserialize, Debug)]
    struct Page {
        #[serde(deserialize_with = "indexed")]
        data: Vec<Row>,
    }

    #[test]
    fn a_bad_record_is_named_by_index_and_field() {
        let e = serde_json::from_str::<Page>(r#"{"data":[{"id":1},{"id":2},{"name":"x"}]}"#)
            .unwrap_err()
            .to_string();
        assert!(e.contains("record 2") && e.contains("`id`"), "{e}");
        let ok = serde_json::from_str::<Page>(r#"{"data":[{"id":1},{"id":2}]}"#).unwrap();
        assert_eq!(ok.data.len(), 2);
    }

    #[test]
    fn auxiliary_ids_carry_the_prefix_and_kind() {
        assert_eq!(auxiliary_id("seats", "1:2"), "aux:seats:1:2");
        assert_eq!(auxiliary_id("events", ""), "aux:events");
    }
}
