//! The parts of pretix's REST responses this connector reads (pretix 2026.x). Everything else
//! a response may carry — secrets, ticket URLs, phones, names, addresses, answers — has no field
//! here, so it is skipped while parsing and cannot reach a record.

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde::Deserialize;

/// One page of a listing (`count`, `next`, `results`).
#[derive(Debug, Deserialize)]
pub struct Listing<T> {
    #[serde(default)]
    pub next: Option<String>,
    pub results: Vec<T>,
}

/// An i18n string: pretix sends `{"en": "…", "de": "…"}`, older fields a plain string.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum I18n<'a> {
    #[serde(borrow)]
    Plain(Cow<'a, str>),
    #[serde(borrow)]
    ByLanguage(BTreeMap<Cow<'a, str>, Cow<'a, str>>),
}

impl I18n<'_> {
    /// English when there is one, else the first language's (in code order).
    pub fn text(&self) -> String {
        match self {
            I18n::Plain(s) => s.to_string(),
            I18n::ByLanguage(m) => m
                .get("en")
                .or_else(|| m.values().find(|v| !v.is_empty()))
                .map(|s| s.to_string())
                .unwrap_or_default(),
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct WireEvent<'a> {
    #[serde(borrow)]
    pub slug: Cow<'a, str>,
    #[serde(borrow)]
    pub name: I18n<'a>,
    #[serde(borrow)]
    pub currency: Cow<'a, str>,
    #[serde(default, borrow)]
    pub date_from: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    pub date_to: Option<Cow<'a, str>>,
}

#[derive(Debug, Deserialize)]
pub struct WireItem<'a> {
    pub id: u64,
    #[serde(borrow)]
    pub name: I18n<'a>,
    #[serde(default, borrow)]
    pub variations: Vec<WireVariation<'a>>,
}

#[derive(Debug, Deserialize)]
pub struct WireVariation<'a> {
    pub id: u64,
    #[serde(borrow)]
    pub value: I18n<'a>,
}

#[derive(Debug, Deserialize)]
pub struct WireOrder<'a> {
    #[serde(borrow)]
    pub code: Cow<'a, str>,
    #[serde(borrow)]
    pub status: Cow<'a, str>,
    #[serde(default)]
    pub testmode: bool,
    #[serde(default, borrow)]
    pub email: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub datetime: Cow<'a, str>,
    #[serde(borrow)]
    pub last_modified: Cow<'a, str>,
    #[serde(default, borrow)]
    pub cancellation_date: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    pub payment_provider: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    pub sales_channel: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    pub fees: Vec<WireFee<'a>>,
    #[serde(default, borrow)]
    pub refunds: Vec<WireRefund<'a>>,
    #[serde(borrow)]
    pub positions: Vec<WirePosition<'a>>,
}

#[derive(Debug, Deserialize)]
pub struct WireFee<'a> {
    #[serde(borrow)]
    pub value: Cow<'a, str>,
}

#[derive(Debug, Deserialize)]
pub struct WireRefund<'a> {
    #[serde(borrow)]
    pub state: Cow<'a, str>,
    #[serde(borrow)]
    pub amount: Cow<'a, str>,
    #[serde(default, borrow)]
    pub created: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    pub execution_date: Option<Cow<'a, str>>,
}

#[derive(Debug, Deserialize)]
pub struct WirePosition<'a> {
    pub positionid: u32,
    pub item: u64,
    #[serde(default)]
    pub variation: Option<u64>,
    #[serde(borrow)]
    pub price: Cow<'a, str>,
    #[serde(default)]
    pub canceled: bool,
    #[serde(default)]
    pub subevent: Option<u64>,
    #[serde(default, borrow)]
    pub checkins: Vec<WireCheckin<'a>>,
}

#[derive(Debug, Deserialize)]
pub struct WireCheckin<'a> {
    #[serde(borrow)]
    pub datetime: Cow<'a, str>,
    /// `entry` or `exit` (absent in old releases: an entry).
    #[serde(default, borrow)]
    pub r#type: Option<Cow<'a, str>>,
}
