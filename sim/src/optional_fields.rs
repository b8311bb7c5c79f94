//! Optional vendor fields in simulated answers: whether they are served, left out or `null`, and
//! the one function both simulators strip a record with (they differ only in the keys they
//! keep, which live with each simulator). Owns no vendor knowledge.

use serde_json::Value;

/// Whether the optional fields are in the answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OptionalFields {
    #[default]
    Served,
    /// Left out, as a `select` list or an older account answers.
    Absent,
    /// Present with `null`.
    Null,
}

/// `obj`'s keys outside `keep` made absent or null.
pub(crate) fn strip(obj: &mut Value, keep: &[&str], how: OptionalFields) {
    let Some(o) = obj.as_object_mut() else { return };
    let optional: Vec<String> = o
        .keys()
        .filter(|k| !keep.contains(&k.as_str()))
        .cloned()
        .collect();
    for k in optional {
        match how {
            OptionalFields::Served => {}
            OptionalFields::Absent => {
                o.remove(&k);
            }
            OptionalFields::Null => {
                o.insert(k, Value::Null);
            }
        }
    }
}
