//! The query language on its own: parsing request bodies (valid and refused), compiling
//! filters against a resource's columns, and matching, sorting and paging records.

use serde_json::json;

use super::*;

fn parsed(body: &str) -> Query {
    match parse_query(body.as_bytes()) {
        Ok(q) => q,
        Err(r) => panic!("{body} was refused: {r:?}"),
    }
}

fn refused(body: &str) -> Reject {
    match parse_query(body.as_bytes()) {
        Ok(_) => panic!("{body} was accepted"),
        Err(r) => r,
    }
}

/// A resource of three columns plus one that fails as `payed_at` does on `/orders`.
fn columns(name: &str) -> Column {
    match name {
        "id" => Column::Known(0, Kind::Num),
        "active" => Column::Known(1, Kind::Bool),
        "updated_at" => Column::Known(2, Kind::Time),
        "payed_at" => Column::Fails,
        _ => Column::Unknown,
    }
}

fn compiled(body: &str) -> Result<Vec<Pred>, Reject> {
    compile(&parsed(body), &columns)
}

/// 2026-03-01T00:00:00Z in unix milliseconds.
const T0: i64 = 1_772_323_200_000;

/// Records: (id, active, updated_at); record 3 has no `updated_at` (NULL).
const ROWS: [[Option<i64>; 3]; 5] = [
    [Some(10), Some(1), Some(T0)],
    [Some(11), Some(0), Some(T0 + 1_000)],
    [Some(12), Some(1), Some(T0 - 1_000)],
    [Some(13), Some(0), None],
    [Some(14), Some(1), Some(T0)],
];

fn cell(i: usize, c: u8) -> Option<i64> {
    ROWS[i][c as usize]
}

/// Indexes of the records a body selects, in page order (all on one page).
fn hits(body: &str) -> Vec<usize> {
    let q = parsed(body);
    let preds = compile(&q, &columns).unwrap_or_else(|r| panic!("{body}: {r:?}"));
    let keys = order_keys(&q, &columns).unwrap_or_else(|r| panic!("{body}: {r:?}"));
    select_page(ROWS.len(), &preds, &keys, &cell, q.page, 100).0
}

// ----- parsing: what a body means ----------------------------------------------------------

#[test]
fn empty_whitespace_or_null_body_means_no_filters_and_page_one() {
    for body in ["", "  \n\t", "null", "{}"] {
        let q = parsed(body);
        assert!(q.wheres.is_empty(), "{body:?}");
        assert!(q.order_by.is_empty(), "{body:?}");
        assert_eq!(q.page, 1, "{body:?}");
        assert!(q.select.is_none(), "{body:?}");
        assert!(!q.flat, "{body:?}");
    }
}

#[test]
fn where_items_keep_column_operator_and_value_in_order() {
    let q = parsed(
        r#"{"where":[{"column":"id","operator":">=","value":3},
                     {"column":"updated_at","operator":"<","value":"2026-03-01"}]}"#,
    );
    assert_eq!(q.wheres.len(), 2);
    assert_eq!(q.wheres[0], ("id".to_string(), Op::Ge, json!(3)));
    assert_eq!(
        q.wheres[1],
        ("updated_at".to_string(), Op::Lt, json!("2026-03-01"))
    );
}

#[test]
fn where_without_operator_means_equals_and_without_value_means_null() {
    let q = parsed(r#"{"where":[{"column":"id","value":7},{"column":"id","operator":null}]}"#);
    assert_eq!(q.wheres[0], ("id".to_string(), Op::Eq, json!(7)));
    assert_eq!(q.wheres[1], ("id".to_string(), Op::Eq, Value::Null));
}

#[test]
fn operators_are_read_in_every_spelling_case_and_padding() {
    for (text, op) in [
        ("=", Op::Eq),
        ("==", Op::Eq),
        ("!=", Op::Ne),
        ("<>", Op::Ne),
        ("<", Op::Lt),
        (">", Op::Gt),
        ("<=", Op::Le),
        (">=", Op::Ge),
        ("in", Op::In),
        (" IN ", Op::In),
        ("not in", Op::NotIn),
        ("in array", Op::In),
        ("Not In Array", Op::NotIn),
        ("null", Op::Null),
        ("IS NULL", Op::Null),
        ("not null", Op::NotNull),
        ("is not null", Op::NotNull),
    ] {
        assert_eq!(op_of(text), Some(op), "{text:?}");
    }
}

#[test]
fn unknown_operator_is_a_bad_request() {
    for op in ["like", "=>", "", "between", "in  array"] {
        assert_eq!(op_of(op), None, "{op:?}");
        let body = json!({"where": [{"column": "id", "operator": op, "value": 1}]}).to_string();
        assert_eq!(refused(&body), Reject::BadRequest, "{op:?}");
    }
}

#[test]
fn operator_that_is_not_a_string_is_a_bad_request() {
    assert_eq!(
        refused(r#"{"where":[{"column":"id","operator":1,"value":1}]}"#),
        Reject::BadRequest
    );
}

#[test]
fn where_item_without_a_string_column_is_a_bad_request() {
    for body in [
        r#"{"where":[{"operator":"=","value":1}]}"#,
        r#"{"where":[{"column":5,"value":1}]}"#,
        r#"{"where":["id"]}"#,
    ] {
        assert_eq!(refused(body), Reject::BadRequest, "{body}");
    }
}

#[test]
fn where_that_is_not_an_array_is_a_bad_request() {
    for body in [
        r#"{"where":{"column":"id","value":1}}"#,
        r#"{"where":"id=1"}"#,
    ] {
        assert_eq!(refused(body), Reject::BadRequest, "{body}");
    }
    // null is as absent.
    assert!(parsed(r#"{"where":null}"#).wheres.is_empty());
}

#[test]
fn body_that_is_not_a_json_object_is_a_bad_request() {
    for body in [
        "{",
        "where=id",
        "[]",
        "[{\"column\":\"id\"}]",
        "3",
        "\"x\"",
        "true",
    ] {
        assert_eq!(refused(body), Reject::BadRequest, "{body}");
    }
}

#[test]
fn order_by_reads_an_object_of_directions_or_a_bare_column() {
    let q = parsed(r#"{"orderBy":{"id":"DESC","updated_at":" asc "}}"#);
    assert_eq!(
        q.order_by,
        vec![("id".to_string(), true), ("updated_at".to_string(), false)]
    );
    assert_eq!(
        parsed(r#"{"orderBy":"updated_at"}"#).order_by,
        vec![("updated_at".to_string(), false)]
    );
    assert!(parsed(r#"{"orderBy":null}"#).order_by.is_empty());
}

#[test]
fn order_by_with_a_bad_direction_or_shape_is_a_bad_request() {
    for body in [
        r#"{"orderBy":{"id":"down"}}"#,
        r#"{"orderBy":{"id":1}}"#,
        r#"{"orderBy":{"id":null}}"#,
        r#"{"orderBy":["id"]}"#,
        r#"{"orderBy":1}"#,
    ] {
        assert_eq!(refused(body), Reject::BadRequest, "{body}");
    }
}

#[test]
fn page_is_a_number_or_numeric_string_and_never_below_one() {
    for (body, page) in [
        (r#"{"page":3}"#, 3),
        (r#"{"page":" 4 "}"#, 4),
        (r#"{"page":0}"#, 1),
        (r#"{"page":-2}"#, 1),
        (r#"{"page":2.5}"#, 1),
        (r#"{"page":"two"}"#, 1),
        (r#"{"page":null}"#, 1),
        (r#"{"page":[2]}"#, 1),
    ] {
        assert_eq!(parsed(body).page, page, "{body}");
    }
}

#[test]
fn select_is_a_list_of_key_names() {
    assert_eq!(
        parsed(r#"{"select":["id","free_quantity"]}"#).select,
        Some(vec!["id".to_string(), "free_quantity".to_string()])
    );
    assert_eq!(parsed(r#"{"select":[]}"#).select, Some(vec![]));
    assert_eq!(parsed(r#"{"select":null}"#).select, None);
}

#[test]
fn select_with_a_non_string_key_or_not_a_list_is_a_bad_request() {
    for body in [
        r#"{"select":["id",2]}"#,
        r#"{"select":"id"}"#,
        r#"{"select":{"id":true}}"#,
    ] {
        assert_eq!(refused(body), Reject::BadRequest, "{body}");
    }
}

#[test]
fn flat_accepts_booleans_numbers_and_boolean_strings() {
    for (v, flat) in [
        ("true", true),
        ("false", false),
        ("1", true),
        ("0", false),
        ("2", true),
        ("\"1\"", true),
        ("\" TRUE \"", true),
        ("\"0\"", false),
        ("\"false\"", false),
        ("\"\"", false),
        ("null", false),
    ] {
        assert_eq!(parsed(&format!(r#"{{"flat":{v}}}"#)).flat, flat, "{v}");
    }
}

#[test]
fn flat_that_is_not_a_boolean_is_a_bad_request() {
    for v in ["\"yes\"", "[]", "{}"] {
        assert_eq!(
            refused(&format!(r#"{{"flat":{v}}}"#)),
            Reject::BadRequest,
            "{v}"
        );
    }
}

// ----- compiling: filters against a resource's columns -------------------------------------

#[test]
fn unknown_column_in_where_or_order_by_answers_unknown_error() {
    let q = parsed(r#"{"where":[{"column":"nope","value":1}]}"#);
    assert_eq!(compile(&q, &columns).err(), Some(Reject::UnknownError));
    let q = parsed(r#"{"orderBy":{"nope":"asc"}}"#);
    assert_eq!(order_keys(&q, &columns).err(), Some(Reject::UnknownError));
}

#[test]
fn failing_column_anywhere_answers_unknown_error_before_a_bad_value_is_seen() {
    // The bad value on `id` comes first, yet the request fails as `payed_at` does.
    let body = r#"{"where":[{"column":"id","value":"abc"},{"column":"payed_at","operator":">","value":"2026-03-01"}]}"#;
    assert_eq!(compiled(body).err(), Some(Reject::UnknownError));
    let q = parsed(r#"{"orderBy":"payed_at"}"#);
    assert_eq!(order_keys(&q, &columns).err(), Some(Reject::UnknownError));
}

#[test]
fn value_that_does_not_fit_its_column_is_a_bad_request() {
    for body in [
        r#"{"where":[{"column":"id","value":"abc"}]}"#,
        r#"{"where":[{"column":"id","value":[1]}]}"#,
        r#"{"where":[{"column":"active","value":"maybe"}]}"#,
        r#"{"where":[{"column":"updated_at","operator":">","value":1772323200}]}"#,
        r#"{"where":[{"column":"updated_at","operator":">","value":"yesterday"}]}"#,
        r#"{"where":[{"column":"updated_at","operator":">","value":"2026-13-01"}]}"#,
        r#"{"where":[{"column":"id","operator":"in","value":[1,"x"]}]}"#,
    ] {
        assert_eq!(compiled(body).err(), Some(Reject::BadRequest), "{body}");
    }
}

#[test]
fn equals_null_and_not_equals_null_become_null_tests() {
    let preds = compiled(
        r#"{"where":[{"column":"updated_at","value":null},{"column":"updated_at","operator":"!=","value":null}]}"#,
    )
    .unwrap();
    assert!(matches!(preds[0], Pred::IsNull(2, false)));
    assert!(matches!(preds[1], Pred::IsNull(2, true)));
}

#[test]
fn values_are_read_as_their_column_kind() {
    let preds = compiled(
        r#"{"where":[{"column":"id","value":" 12 "},{"column":"id","value":12.9},
                     {"column":"active","value":"true"},{"column":"active","value":false},
                     {"column":"updated_at","value":"2026-03-01T03:00:00+03:00"},
                     {"column":"updated_at","value":"2026-03-01 03:00"}]}"#,
    )
    .unwrap();
    let values: Vec<i64> = preds
        .iter()
        .map(|p| match p {
            Pred::Cmp(_, Op::Eq, v) => *v,
            _ => panic!("not an equality"),
        })
        .collect();
    // A time without offset is Moscow time, as the API's own clock.
    assert_eq!(values, vec![12, 12, 1, 0, T0, T0]);
}

#[test]
fn in_takes_a_list_or_one_scalar() {
    let preds = compiled(
        r#"{"where":[{"column":"id","operator":"in","value":[10,"12"]},{"column":"id","operator":"not in","value":11}]}"#,
    )
    .unwrap();
    assert!(matches!(&preds[0], Pred::In(0, set, false) if set == &vec![10, 12]));
    assert!(matches!(&preds[1], Pred::In(0, set, true) if set == &vec![11]));
}

// ----- matching, sorting and paging --------------------------------------------------------

#[test]
fn comparisons_select_the_matching_records() {
    for (op, value, want) in [
        ("=", json!(12), vec![2]),
        ("!=", json!(12), vec![0, 1, 3, 4]),
        ("<", json!(12), vec![0, 1]),
        ("<=", json!(12), vec![0, 1, 2]),
        (">", json!(12), vec![3, 4]),
        (">=", json!("12"), vec![2, 3, 4]),
    ] {
        let body = json!({"where": [{"column": "id", "operator": op, "value": value}]});
        assert_eq!(hits(&body.to_string()), want, "id {op} {value}");
    }
}

#[test]
fn comparisons_with_a_null_cell_never_match() {
    // Record 3 has no `updated_at`: neither before nor after, nor unequal, nor in a set.
    for (op, value) in [
        (">", json!("2000-01-01")),
        ("<", json!("2100-01-01")),
        ("!=", json!("2026-03-01")),
        ("not in", json!(["2026-03-01"])),
    ] {
        let body = json!({"where": [{"column": "updated_at", "operator": op, "value": value}]});
        assert!(
            !hits(&body.to_string()).contains(&3),
            "updated_at {op} {value}"
        );
    }
    assert_eq!(
        hits(r#"{"where":[{"column":"updated_at","operator":"is null"}]}"#),
        vec![3]
    );
    assert_eq!(
        hits(r#"{"where":[{"column":"updated_at","operator":"not null"}]}"#),
        vec![0, 1, 2, 4]
    );
}

#[test]
fn time_filters_compare_instants_whatever_the_offset() {
    let after = |t: &str| {
        hits(
            &json!({"where": [{"column": "updated_at", "operator": ">=", "value": t}]}).to_string(),
        )
    };
    assert_eq!(after("2026-03-01T00:00:00Z"), vec![0, 1, 4]);
    assert_eq!(after("2026-03-01T03:00:00+03:00"), vec![0, 1, 4]);
    assert_eq!(after("2026-03-01T00:00:00.001Z"), vec![1]);
    assert_eq!(after("2026-02-28T23:59:59Z"), vec![0, 1, 2, 4]);
}

#[test]
fn several_filters_must_all_match() {
    assert_eq!(
        hits(
            r#"{"where":[{"column":"active","value":1},{"column":"updated_at","operator":">=","value":"2026-03-01T00:00:00Z"}]}"#
        ),
        vec![0, 4]
    );
    assert_eq!(
        hits(
            r#"{"where":[{"column":"id","operator":"in","value":[10,11,13]},{"column":"active","value":"0"}]}"#
        ),
        vec![1, 3]
    );
}

#[test]
fn sorting_puts_nulls_first_ascending_and_breaks_ties_by_id() {
    assert_eq!(
        hits(r#"{"orderBy":{"updated_at":"asc"}}"#),
        vec![3, 2, 0, 4, 1]
    );
    // Descending reverses the key, not the tie-break (records 0 and 4 share a time).
    assert_eq!(
        hits(r#"{"orderBy":{"updated_at":"desc"}}"#),
        vec![1, 0, 4, 2, 3]
    );
    // Two keys apply in key order: active first, then id descending.
    assert_eq!(
        hits(r#"{"orderBy":{"active":"desc","id":"desc"}}"#),
        vec![4, 2, 0, 3, 1]
    );
    // No key: id order.
    assert_eq!(hits("{}"), vec![0, 1, 2, 3, 4]);
}

#[test]
fn pages_cut_the_sorted_hits_and_count_them_all() {
    let q = parsed(r#"{"where":[{"column":"id","operator":">","value":10}],"page":2}"#);
    let preds = compile(&q, &columns).unwrap();
    assert_eq!(
        select_page(ROWS.len(), &preds, &[], &cell, q.page, 3),
        (vec![4], 4)
    );
    assert_eq!(
        select_page(ROWS.len(), &preds, &[], &cell, 1, 3),
        (vec![1, 2, 3], 4)
    );
    // Past the end: an empty page, the total still counted.
    assert_eq!(
        select_page(ROWS.len(), &preds, &[], &cell, 9, 3),
        (vec![], 4)
    );
    assert_eq!(
        select_page(ROWS.len(), &preds, &[], &cell, usize::MAX, 3),
        (vec![], 4)
    );
}
