//! Groups of rows by their leading columns, for aggregations done in Rust over one plain scan.
//!
//! A `GROUP BY` over several text columns makes SQLite sort the whole table before grouping; a
//! scan that looks each row's group up here reads it once, in storage order. Owns only the
//! group lookup: what is summed per group is the caller's.

use std::collections::HashMap;

use rusqlite::types::ValueRef;
use rusqlite::Row;

/// Maps the values of a row's first `width` columns to the index of its group.
pub(crate) struct GroupIndex {
    width: usize,
    groups: HashMap<Vec<u8>, usize>,
    key: Vec<u8>,
}

impl GroupIndex {
    pub fn new(width: usize) -> Self {
        Self {
            width,
            groups: HashMap::new(),
            key: Vec::new(),
        }
    }

    /// The index of the row's group; `Err(index)` for a group not seen before, which the
    /// caller creates at that index (groups are numbered in the order they first appear).
    pub fn find(&mut self, row: &Row<'_>) -> rusqlite::Result<Result<usize, usize>> {
        self.key.clear();
        for i in 0..self.width {
            encode(&mut self.key, row.get_ref(i)?);
        }
        if let Some(&at) = self.groups.get(self.key.as_slice()) {
            return Ok(Ok(at));
        }
        let at = self.groups.len();
        self.groups.insert(self.key.clone(), at);
        Ok(Err(at))
    }
}

/// A value as a tagged, length-prefixed run of bytes: two different rows never share a key
/// (`"a" + "bc"` is not `"ab" + "c"`, NULL is not `""`).
fn encode(key: &mut Vec<u8>, v: ValueRef<'_>) {
    let (tag, bytes): (u8, &[u8]) = match v {
        ValueRef::Null => (0, &[]),
        ValueRef::Integer(i) => {
            key.push(1);
            key.extend_from_slice(&i.to_le_bytes());
            return;
        }
        ValueRef::Real(f) => {
            key.push(2);
            key.extend_from_slice(&f.to_bits().to_le_bytes());
            return;
        }
        ValueRef::Text(t) => (3, t),
        ValueRef::Blob(b) => (4, b),
    };
    key.push(tag);
    key.extend_from_slice(&(bytes.len() as u64).to_le_bytes());
    key.extend_from_slice(bytes);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_group_by_exact_values() {
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        let mut st = conn
            .prepare(
                "SELECT * FROM (VALUES ('a', 'bc', 1), ('ab', 'c', 2), ('a', 'bc', 3),
                     (NULL, '', 4), ('', NULL, 5), ('', '', 6), (NULL, '', 7), (1, 'x', 8),
                     ('1', 'x', 9))",
            )
            .unwrap();
        let mut rows = st.query([]).unwrap();
        let mut index = GroupIndex::new(2);
        let mut got = Vec::new();
        while let Some(r) = rows.next().unwrap() {
            got.push(index.find(r).unwrap());
        }
        assert_eq!(
            got,
            [
                Err(0),
                Err(1),
                Ok(0),
                Err(2),
                Err(3),
                Err(4),
                Ok(2),
                Err(5),
                Err(6)
            ]
        );
    }
}
