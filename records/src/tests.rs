use super::*;

/// Every contract version whose records this crate encodes: the field order is the same in
/// each, and a test holds the types to all of them.
const WITS: [(&str, &str); 3] = [
    (
        "0.2.0",
        include_str!("../../wit/since_v0.2.0/connector.wit"),
    ),
    (
        "0.3.0",
        include_str!("../../wit/since_v0.3.0/connector.wit"),
    ),
    (
        "0.4.0",
        include_str!("../../wit/since_v0.4.0/connector.wit"),
    ),
];

fn ticket(id: &str) -> Ticket<'_> {
    Ticket {
        ticket_id: id.into(),
        order_id: "o1".into(),
        event_id: "e1".into(),
        show_id: None,
        category: "PHASE 1".into(),
        channel: "online".into(),
        status: TicketStatus::Refunded,
        price_minor: 2_500,
        service_fee_minor: 120,
        buyer_fee_minor: 0,
        producer_cost_minor: -3,
        refunded_minor: 2_500,
        currency: "EUR".into(),
        ordered_at_ms: 1_767_225_600_000,
        updated_at_ms: 1_767_225_601_000,
        scanned_at_ms: None,
        refunded_at_ms: Some(1_767_225_602_000),
        buyer: Some(PersonalId {
            kind: "shotgun-user".into(),
            value: "7000001".into(),
        }),
        region: Some("France 69".into()),
        utm_source: Some("newsletter".into()),
        utm_medium: None,
        utm_campaign: None,
        payment_method: Some("card".into()),
        visibility: vec!["public".into(), "promoters".into()],
    }
}

fn sample() -> Vec<Item<'static>> {
    vec![
        Item::Ticket(ticket("t1")),
        Item::Event(Event {
            event_id: "e1".into(),
            name: "Nuit \"blanche\" — été".into(),
            city: Some("Lyon".into()),
            venue: None,
            starts_at_ms: Some(1_767_300_000_000),
            ends_at_ms: None,
            canceled_at_ms: None,
            updated_at_ms: 1_767_225_601_000,
        }),
        Item::Inventory(Inventory {
            event_id: "e1".into(),
            show_id: "s1".into(),
            captured_at_ms: 1_767_225_603_000,
            capacity: Some(500),
            available: Some(0),
            sold: None,
        }),
        Item::Ticket(ticket("t2")),
    ]
}

#[test]
fn a_page_round_trips_in_order() {
    let mut w = RecordWriter::with_capacity(4);
    for item in &sample() {
        w.push(item);
    }
    assert_eq!(w.len(), 4);
    let blob = w.finish();
    assert_eq!(decode(&blob).unwrap(), sample());
    assert!(decode(&[]).unwrap().is_empty());
}

/// The wire format is a published contract: pin one record byte for byte, so an encoder change
/// (or a postcard upgrade that changed it) fails here instead of in a third-party connector.
#[test]
fn an_inventory_record_is_encoded_as_the_wit_says() {
    let mut w = RecordWriter::default();
    w.inventory(Inventory {
        event_id: "e1".into(),
        show_id: "s".into(),
        captured_at_ms: -2,
        capacity: Some(300),
        available: None,
        sold: Some(1),
    });
    let expected: Vec<u8> = vec![
        2, // case `inventory`
        2, b'e', b'1', // event-id
        1, b's', // show-id
        3,    // captured-at-ms: zigzag(-2) = 3
        1, 0xAC, 0x02, // capacity: some(300) as a varint
        0,    // available: none
        1, 1, // sold: some(1)
    ];
    assert_eq!(w.finish(), expected);
}

#[test]
fn a_broken_blob_names_the_record_and_byte() {
    let mut w = RecordWriter::default();
    w.push(&sample()[0]);
    let first_len = w.finish().len();
    let mut w = RecordWriter::default();
    for item in &sample() {
        w.push(item);
    }
    let blob = w.finish();

    // Cut inside the second record: the first still reads, the second is named.
    let cut = &blob[..first_len + 5];
    let mut r = RecordReader::new(cut);
    assert!(matches!(r.next(), Some(Ok(Item::Ticket(_)))));
    let err = r.next().unwrap().unwrap_err();
    assert_eq!((err.record, err.offset), (1, first_len));
    assert!(err.to_string().contains("record 1 (byte"), "{err}");
    assert!(r.next().is_none(), "nothing is read past a framing error");

    // An unknown case index.
    let err = decode(&[7, 0, 0]).unwrap_err();
    assert_eq!((err.record, err.offset), (0, 0));

    // A string that is not UTF-8.
    let err = decode(&[2, 1, 0xFF, 0, 0, 0, 0, 0]).unwrap_err();
    assert_eq!(err.record, 0);
}

/// The fields of a WIT `record NAME { ... }` (or cases of a variant/enum), in order, snake_case.
fn wit_members(wit: &str, kind: &str, name: &str) -> Vec<String> {
    let head = format!("{kind} {name} {{");
    let start = wit
        .find(&head)
        .unwrap_or_else(|| panic!("`{head}` not in the WIT"));
    let body = &wit[start + head.len()..];
    let body = &body[..body.find('}').unwrap()];
    body.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with("//"))
        .map(|l| {
            let end = l.find([':', '(', ',']).unwrap_or(l.len());
            l[..end].trim().replace('-', "_")
        })
        .collect()
}

/// Top-level keys of a JSON object, in the order serde wrote them (the derive's field order).
fn serde_fields<T: Serialize>(v: &T) -> Vec<String> {
    let json = serde_json::to_string(v).unwrap();
    let mut keys = Vec::new();
    let (mut depth, mut chars) = (0, json.char_indices().peekable());
    while let Some((i, c)) = chars.next() {
        match c {
            '{' | '[' => depth += 1,
            '}' | ']' => depth -= 1,
            '"' => {
                let rest = &json[i + 1..];
                // The closing quote: the first one not escaped by a backslash.
                let mut end = 0;
                let bytes = rest.as_bytes();
                while bytes[end] != b'"' {
                    end += if bytes[end] == b'\\' { 2 } else { 1 };
                }
                if depth == 1 && rest[end + 1..].starts_with(':') {
                    keys.push(rest[..end].to_string());
                }
                while chars.peek().is_some_and(|(j, _)| *j <= i + 1 + end) {
                    chars.next();
                }
            }
            _ => {}
        }
    }
    keys
}

#[test]
fn the_types_follow_the_wit_schema_field_by_field() {
    for (version, wit) in WITS {
        assert!(
            wit.contains(&format!("package boxoffice:connector@{version};")),
            "{version}"
        );
        follows(wit);
    }
}

fn follows(wit: &str) {
    let mut t = ticket("t1");
    t.buyer = None;
    t.visibility.clear();
    assert_eq!(serde_fields(&t), wit_members(wit, "record", "ticket"));
    let items = sample();
    let Item::Event(e) = &items[1] else {
        unreachable!()
    };
    assert_eq!(serde_fields(e), wit_members(wit, "record", "event"));
    let Item::Inventory(v) = &items[2] else {
        unreachable!()
    };
    assert_eq!(serde_fields(v), wit_members(wit, "record", "inventory"));
    let id = PersonalId {
        kind: "k".into(),
        value: "v".into(),
    };
    assert_eq!(serde_fields(&id), wit_members(wit, "record", "personal-id"));

    // Case indices: the first byte of an encoded item / status is its position in the WIT.
    let cases = wit_members(wit, "variant", "item");
    for item in &items {
        let name = match item {
            Item::Event(_) => "event",
            Item::Ticket(_) => "ticket",
            Item::Inventory(_) => "inventory",
        };
        let index = postcard::to_allocvec(item).unwrap()[0] as usize;
        assert_eq!(cases[index], name);
    }
    let statuses = wit_members(wit, "enum", "ticket-status");
    for (s, name) in [
        (TicketStatus::Valid, "valid"),
        (TicketStatus::Refunded, "refunded"),
        (TicketStatus::Canceled, "canceled"),
        (TicketStatus::Resold, "resold"),
        (TicketStatus::Pending, "pending"),
    ] {
        assert_eq!(
            statuses[postcard::to_allocvec(&s).unwrap()[0] as usize],
            name
        );
    }
    assert_eq!(statuses.len(), 5);
}

/// A ticket whose `visibility` count is `claimed`, followed by `present` empty entries.
fn ticket_with_list(claimed: u64, present: usize) -> Vec<u8> {
    let mut t = ticket("t1");
    t.visibility = vec![];
    let mut blob = postcard::to_allocvec(&Item::Ticket(t)).unwrap();
    assert_eq!(
        blob.pop(),
        Some(0),
        "visibility is the last field: an empty list is one 0"
    );
    let mut n = claimed;
    loop {
        let b = (n & 0x7f) as u8;
        n >>= 7;
        if n == 0 {
            blob.push(b);
            break;
        }
        blob.push(b | 0x80);
    }
    blob.extend(std::iter::repeat_n(0u8, present));
    blob
}

#[test]
fn a_list_claiming_millions_is_refused_before_it_is_allocated() {
    // Entries that are really there: refused by the claim, before the first is read.
    let err = decode(&ticket_with_list(1_000_000, 1_000_000)).unwrap_err();
    assert_eq!(err.record, 0);
    assert!(
        err.detail.contains("1000000 entries, over the cap of 256"),
        "{err}"
    );
    assert_eq!(err.list_over_cap, Some(1_000_000));
    // A claim larger than the bytes left (postcard then gives no size hint): the entries run
    // out, one at a time.
    let err = decode(&ticket_with_list(1_000_000, 3)).unwrap_err();
    assert_eq!(err.list_over_cap, None, "{err}");
    let err = decode(&ticket_with_list(257, 257)).unwrap_err();
    assert!(err.detail.contains("over the cap of 256"), "{err}");
}

#[test]
fn a_list_at_the_cap_decodes_borrowed() {
    let blob = ticket_with_list(MAX_LIST_LEN as u64, MAX_LIST_LEN);
    let items = decode(&blob).unwrap();
    let Item::Ticket(t) = &items[0] else { panic!() };
    assert_eq!(t.visibility.len(), MAX_LIST_LEN);
    assert!(t.visibility.iter().all(|v| matches!(v, Cow::Borrowed(""))));
}
