//! MISP feed parser: formats `"misp"` and `"misp-feed-event"`.
//!
//! # Documents
//!
//! `"misp"` accepts a MISP event export in any of the usual shapes: `{"Event": {...}}`, a bare
//! event object, a REST search result `{"response": [{"Event": {...}}, ...]}`, or a JSON array
//! of `{"Event": {...}}`. `"misp-feed-event"` is one event file of the MISP feed layout
//! (`<uuid>.json`, `{"Event": {...}}`) and is read the same way. The feed's `manifest.json` is
//! read natively by the manager with [`manifest_events`], which returns the event UUIDs (checked
//! to be UUIDs, so they are safe in a file name or URL) and their timestamps.
//!
//! # Attribute types
//!
//! Top-level attributes (`Event.Attribute[]`) and object attributes
//! (`Event.Object[].Attribute[]`) are read alike (types compared ASCII case-insensitively):
//!
//! | MISP `type`                                              | indicator                     |
//! |----------------------------------------------------------|-------------------------------|
//! | `ip-src`, `ip-dst`                                       | address (address or CIDR)     |
//! | `ip-src\|port`, `ip-dst\|port`                           | address (the part before `\|`) |
//! | `domain`, `hostname`                                     | domain                        |
//! | `hostname\|port`                                         | domain (the part before `\|`)  |
//! | `domain\|ip`                                             | domain and address            |
//! | `url`                                                    | url                           |
//! | `uri`                                                    | url, only with `scheme://host` (a bare path is counted as `misp:uri`) |
//! | `target-user`                                            | user                          |
//! | `email`, `email-src`, `email-dst`, `target-email`, `email-reply-to`, `whois-registrant-email` | email |
//! | `link`                                                   | nothing (a reference, not an indicator; not counted) |
//!
//! Every other type (`md5`, `sha256`, `filename`, `regkey`, `mutex`, `text`, ...) is counted.
//!
//! # Unsupported kinds (counted, never dropped silently)
//!
//! | kind                               | when                                                  |
//! |------------------------------------|-------------------------------------------------------|
//! | `misp:<type>`                      | a type not in the table above (and `uri` without a host) |
//! | `misp:<type>:not-for-detection`    | a mapped type with `to_ids` false                      |
//! | `misp:<type>:invalid-value`        | a mapped type whose value does not normalise (for `domain\|ip`, counted once when either part does not; the other part is still emitted) |
//!
//! `<type>` is the type as written, cut to 64 bytes.
//!
//! # Fields
//!
//! - `to_ids`: `true`/`false`, `1`/`0`, `"1"`/`"0"`, `"true"`/`"false"`; missing means true.
//! - `deleted: true` on the attribute or on its object: emitted with `revoked = true`.
//! - `source_id`: the attribute `uuid`; without one, `<event uuid>/<attribute id>` (the event
//!   `id` when it has no `uuid`; `#<n>`, the attribute's position in its list, when the
//!   attribute has no `id`).
//! - `first_seen` / `last_seen` are observation times, not validity, and MISP states no end
//!   of validity: no validity window is set. `timestamp` is not used here.
//! - labels: tag names (`Tag[].name`, also `EventTag[].Tag.name` and `AttributeTag[].Tag.name`)
//!   of the attribute, then of the event; at most 32, each cut to 256 bytes.
//!
//! # Confidence
//!
//! The attribute's tags decide; without a confidence tag there, the event's tags; without one
//! there either, the event's `threat_level_id`. Within one tag list the first tag of the
//! highest-ranked vocabulary wins, ranked in this order:
//!
//! | tag                                                   | confidence |
//! |-------------------------------------------------------|------------|
//! | `misp:confidence-level="completely-confident"` / `"usually-confident"` / `"fairly-confident"` / `"rarely-confident"` / `"unconfident"` | 100 / 75 / 50 / 25 / 0 |
//! | `admiralty-scale:information-credibility="1"`..`"5"` (`"6"`: none)  | 100 / 80 / 60 / 40 / 20 |
//! | `admiralty-scale:source-reliability="a"`..`"e"` (`"f"`: none)      | 100 / 80 / 60 / 40 / 20 |
//! | `estimative-language:likelihood-probability="almost-certain"` / `"very-likely"` / `"likely"` / `"roughly-even-chance"` / `"unlikely"` / `"very-unlikely"` / `"almost-no-chance"` | 95 / 85 / 70 / 50 / 30 / 10 / 5 |
//! | `threat_level_id` 1 (high) / 2 (medium) / 3 (low) / 4 (undefined) | 85 / 65 / 40 / none |
//!
//! (Credibility ranks above reliability: it is the assessment of the information itself.)
//!
//! # Hostile documents
//!
//! - Nesting deeper than [`MAX_DEPTH`] arrays/objects anywhere is an error (`line L column C`).
//! - Strings the parser uses (type, value, uuid, id, tag names...) longer than
//!   [`MAX_VALUE_LEN`] are an error naming the JSON pointer (`/Event/Attribute/3/value`);
//!   values of fields it does not use are skipped without being copied.
//! - Malformed JSON is an error at `line L column C`; a value of the wrong shape in a used
//!   field is an error at its JSON pointer.

use std::borrow::Cow;
use std::fmt;
use std::ops::Range;

use articdbm_feed_sdk::names::{normalize_domain, normalize_email, normalize_url, normalize_user};
use articdbm_feed_sdk::net::normalize_address;
use articdbm_feed_sdk::unsupported::Counter;
use articdbm_feed_sdk::{
    FeedParser, Indicator, IndicatorKind, MAX_DEPTH, MAX_VALUE_LEN, ParseError, ParseOutput, error,
    export_parser, indicator,
};
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;

/// Most labels put on one indicator.
pub const MAX_LABELS: usize = 32;
/// Longest label, in bytes (longer ones are cut at a character boundary).
pub const MAX_LABEL_LEN: usize = 256;
/// Longest attribute type kept in an unsupported kind, in bytes.
const MAX_KIND_TYPE: usize = 64;

/// The MISP parser component.
pub struct Parser;

impl FeedParser for Parser {
    fn parse(format: &str, document: &[u8]) -> Result<ParseOutput, ParseError> {
        match format {
            "misp" | "misp-feed-event" => parse_misp(document),
            _ => Err(error(
                format!(
                    "format {format:?} is not handled by this parser; it accepts \"misp\" and \"misp-feed-event\""
                ),
                None,
            )),
        }
    }
}

export_parser!(Parser);

type Res<T> = Result<T, ParseError>;

/// Parses a MISP event document (any of the shapes in the crate documentation).
pub fn parse_misp(document: &[u8]) -> Result<ParseOutput, ParseError> {
    let document = strip_bom(document);
    check_depth(document)?;
    let mut ctx = Ctx::default();
    let mut de = serde_json::Deserializer::from_slice(document);
    let res = TopSeed { ctx: &mut ctx }
        .deserialize(&mut de)
        .and_then(|()| de.end());
    if let Some(e) = ctx.error.take() {
        return Err(e);
    }
    res.map_err(json_error)?;
    if !ctx.container && ctx.events == 0 {
        return Err(error(
            "no MISP event found: expected {\"Event\": {...}}, an event object, {\"response\": [...]} or an array of {\"Event\": {...}}",
            Some("/".into()),
        ));
    }
    Ok(ParseOutput {
        indicators: ctx.out,
        unsupported: ctx.unsupported.into_list(),
    })
}

/// Reads a MISP feed `manifest.json` (`{"<event uuid>": {"timestamp": "1700000000", ...}, ...}`)
/// and returns, in document order, each event's UUID and its `timestamp` in seconds since the
/// Unix epoch (`None` when absent or null). Keys that are not UUIDs (8-4-4-4-12 hex digits) are
/// an error, so the UUIDs returned are safe to put in a file name or URL; they are returned as
/// written (the event files are named after them).
pub fn manifest_events(document: &[u8]) -> Result<Vec<(String, Option<u64>)>, ParseError> {
    let document = strip_bom(document);
    check_depth(document)?;
    let mut ctx = Ctx::default();
    let mut out = Vec::new();
    let mut de = serde_json::Deserializer::from_slice(document);
    let res = ManifestSeed {
        ctx: &mut ctx,
        out: &mut out,
    }
    .deserialize(&mut de)
    .and_then(|()| de.end());
    if let Some(e) = ctx.error.take() {
        return Err(e);
    }
    res.map_err(json_error)?;
    Ok(out)
}

fn strip_bom(document: &[u8]) -> &[u8] {
    document.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(document)
}

// ---------------------------------------------------------------------------------------------
// Errors and locations

fn json_error(e: serde_json::Error) -> ParseError {
    let full = e.to_string();
    let (line, column) = (e.line(), e.column());
    let suffix = format!(" at line {line} column {column}");
    let message = full.strip_suffix(&suffix).unwrap_or(&full);
    let message = if message.contains("recursion limit exceeded") {
        format!("JSON nesting is too deep ({message})")
    } else {
        format!("malformed MISP JSON: {message}")
    };
    error(
        message,
        (line > 0).then(|| format!("line {line} column {column}")),
    )
}

/// `line L column C` (1-based, columns in bytes) of byte `offset`.
fn line_column(doc: &[u8], offset: usize) -> String {
    let before = doc.get(..offset).unwrap_or(doc);
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    let column = match before.iter().rposition(|&b| b == b'\n') {
        Some(nl) => offset - nl,
        None => offset + 1,
    };
    format!("line {line} column {column}")
}

/// Refuses arrays/objects nested deeper than [`MAX_DEPTH`] anywhere in the document, before
/// any parsing (serde_json skips unused values without a depth limit of its own).
fn check_depth(doc: &[u8]) -> Res<()> {
    let mut depth = 0usize;
    let mut i = 0;
    while let Some(&b) = doc.get(i) {
        match b {
            b'"' => {
                i = skip_string(doc, i + 1);
                continue;
            }
            b'[' | b'{' => {
                depth += 1;
                if depth > MAX_DEPTH {
                    return Err(error(
                        format!("JSON nesting is deeper than {MAX_DEPTH} levels"),
                        Some(line_column(doc, i)),
                    ));
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
        i += 1;
    }
    Ok(())
}

/// The index after the string whose body starts at `i` (or the end of the document).
fn skip_string(doc: &[u8], mut i: usize) -> usize {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    let has = |w: u64, b: u8| {
        let x = w ^ (ONES * u64::from(b));
        x.wrapping_sub(ONES) & !x & HIGHS != 0
    };
    loop {
        while let Some(chunk) = doc.get(i..i + 8) {
            let mut bytes = [0u8; 8];
            bytes.copy_from_slice(chunk);
            let w = u64::from_le_bytes(bytes);
            if has(w, b'"') || has(w, b'\\') {
                break;
            }
            i += 8;
        }
        match doc.get(i) {
            None => return doc.len(),
            Some(b'"') => return i + 1,
            Some(b'\\') => i += 2,
            Some(_) => i += 1,
        }
    }
}

/// The JSON text of a string field, unescaped and checked against [`MAX_VALUE_LEN`]. `None`
/// for `null`; numbers and booleans give their text (MISP writes ids both ways).
fn raw_str<'a>(raw: &'a RawValue, at: impl FnOnce() -> String) -> Res<Option<Cow<'a, str>>> {
    let text = raw.get();
    match text.as_bytes().first() {
        Some(b'"') => {
            let inner = text.get(1..text.len().saturating_sub(1)).unwrap_or("");
            if !inner.contains('\\') {
                if inner.len() > MAX_VALUE_LEN {
                    return Err(too_long(inner.len(), at()));
                }
                return Ok(Some(Cow::Borrowed(inner)));
            }
            // An escape sequence is at most 6 bytes for 1 byte of text.
            if inner.len() > 6 * MAX_VALUE_LEN {
                return Err(error(
                    format!(
                        "string is {} bytes as written, over the limit of {MAX_VALUE_LEN} bytes",
                        inner.len()
                    ),
                    Some(at()),
                ));
            }
            match serde_json::from_str::<String>(text) {
                Err(e) => Err(error(format!("bad string: {e}"), Some(at()))),
                Ok(s) if s.len() > MAX_VALUE_LEN => Err(too_long(s.len(), at())),
                Ok(s) => Ok(Some(Cow::Owned(s))),
            }
        }
        Some(b'n') => Ok(None),
        Some(b'-' | b'0'..=b'9' | b't' | b'f') => {
            if text.len() > MAX_VALUE_LEN {
                return Err(too_long(text.len(), at()));
            }
            Ok(Some(Cow::Borrowed(text)))
        }
        _ => Err(error("expected a string", Some(at()))),
    }
}

fn too_long(len: usize, at: String) -> ParseError {
    error(
        format!("string is {len} bytes, over the limit of {MAX_VALUE_LEN} bytes"),
        Some(at),
    )
}

/// A MISP boolean: `true`/`false`, `1`/`0`, `"1"`/`"0"`, `"true"`/`"false"`; `null` gives
/// `default`.
fn raw_bool(raw: &RawValue, default: bool, at: impl FnOnce() -> String) -> Res<bool> {
    match raw.get().trim() {
        "true" | "1" | "\"1\"" | "\"true\"" | "\"True\"" => Ok(true),
        "false" | "0" | "\"0\"" | "\"false\"" | "\"False\"" | "\"\"" => Ok(false),
        "null" => Ok(default),
        other => Err(error(
            format!("expected a boolean, found {}", cut(other, 32)),
            Some(at()),
        )),
    }
}

fn cut(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

fn push_label(labels: &mut Vec<String>, text: &str) {
    let t = text.trim();
    if t.is_empty() || labels.len() >= MAX_LABELS {
        return;
    }
    let t = cut(t, MAX_LABEL_LEN);
    if !labels.iter().any(|l| l == t) {
        labels.push(t.to_string());
    }
}

// ---------------------------------------------------------------------------------------------
// Mapping

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Target {
    Address,
    AddressPort,
    Domain,
    DomainPort,
    DomainIp,
    Url,
    Uri,
    User,
    Email,
}

enum Mapping {
    To(Target),
    Skip,
    Unsupported,
}

fn map_type(ty: &str) -> Mapping {
    match ty.to_ascii_lowercase().as_str() {
        "ip-src" | "ip-dst" => Mapping::To(Target::Address),
        "ip-src|port" | "ip-dst|port" => Mapping::To(Target::AddressPort),
        "domain" | "hostname" => Mapping::To(Target::Domain),
        "hostname|port" => Mapping::To(Target::DomainPort),
        "domain|ip" => Mapping::To(Target::DomainIp),
        "url" => Mapping::To(Target::Url),
        "uri" => Mapping::To(Target::Uri),
        "target-user" => Mapping::To(Target::User),
        "email"
        | "email-src"
        | "email-dst"
        | "target-email"
        | "email-reply-to"
        | "whois-registrant-email" => Mapping::To(Target::Email),
        "link" => Mapping::Skip,
        _ => Mapping::Unsupported,
    }
}

/// The part before the last `|`, or all of it.
fn before_pipe(v: &str) -> &str {
    v.rsplit_once('|').map_or(v, |(a, _)| a)
}

/// Indicators for `value` of `target`, and whether some part of it did not normalise.
fn normalise(target: Target, value: &str) -> (Vec<(IndicatorKind, String)>, bool) {
    let one = |r: Option<(IndicatorKind, String)>| match r {
        Some(x) => (vec![x], false),
        None => (Vec::new(), true),
    };
    let addr = |v: &str| normalize_address(v).map(|a| (IndicatorKind::Address, a));
    let domain = |v: &str| normalize_domain(v).map(|d| (IndicatorKind::Domain, d));
    match target {
        Target::Address => one(addr(value)),
        Target::AddressPort => one(addr(before_pipe(value))),
        Target::Domain => one(domain(value)),
        Target::DomainPort => one(domain(before_pipe(value))),
        Target::DomainIp => {
            let Some((d, a)) = value.split_once('|') else {
                return one(domain(value));
            };
            let parts: Vec<_> = [domain(d), addr(a)].into_iter().flatten().collect();
            let bad = parts.len() < 2;
            (parts, bad)
        }
        Target::Url | Target::Uri => one(normalize_url(value).map(|u| (IndicatorKind::Url, u))),
        Target::User => one(normalize_user(value).map(|u| (IndicatorKind::User, u))),
        Target::Email => one(normalize_email(value).map(|e| (IndicatorKind::Email, e))),
    }
}

/// Confidence vocabularies, highest-ranked first.
const SLOTS: usize = 4;

/// The vocabulary slot and confidence of a tag, when it is a confidence tag with a value that
/// states one.
fn tag_confidence(name: &str) -> Option<(usize, u8)> {
    let (predicate, value) = name.split_once('=')?;
    let value = value.trim().trim_matches('"').trim().to_ascii_lowercase();
    let predicate = predicate.trim().to_ascii_lowercase();
    let (slot, c) = match predicate.as_str() {
        "misp:confidence-level" => (
            0,
            match value.as_str() {
                "completely-confident" => 100,
                "usually-confident" => 75,
                "fairly-confident" => 50,
                "rarely-confident" => 25,
                "unconfident" => 0,
                _ => return None,
            },
        ),
        "admiralty-scale:information-credibility" => (
            1,
            match value.as_str() {
                "1" => 100,
                "2" => 80,
                "3" => 60,
                "4" => 40,
                "5" => 20,
                _ => return None,
            },
        ),
        "admiralty-scale:source-reliability" => (
            2,
            match value.as_str() {
                "a" => 100,
                "b" => 80,
                "c" => 60,
                "d" => 40,
                "e" => 20,
                _ => return None,
            },
        ),
        "estimative-language:likelihood-probability" => (
            3,
            match value.as_str() {
                "almost-certain" => 95,
                "very-likely" => 85,
                "likely" => 70,
                "roughly-even-chance" => 50,
                "unlikely" => 30,
                "very-unlikely" => 10,
                "almost-no-chance" => 5,
                _ => return None,
            },
        ),
        _ => return None,
    };
    Some((slot, c))
}

fn threat_confidence(level: &str) -> Option<u8> {
    match level.trim() {
        "1" => Some(85),
        "2" => Some(65),
        "3" => Some(40),
        _ => None,
    }
}

#[derive(Default)]
struct TagSet {
    labels: Vec<String>,
    slots: [Option<u8>; SLOTS],
}

impl TagSet {
    fn add(&mut self, name: &str) {
        push_label(&mut self.labels, name);
        if let Some((slot, c)) = tag_confidence(name)
            && let Some(s) = self.slots.get_mut(slot)
            && s.is_none()
        {
            *s = Some(c);
        }
    }

    fn confidence(&self) -> Option<u8> {
        self.slots.iter().flatten().next().copied()
    }
}

// ---------------------------------------------------------------------------------------------
// Streaming deserialisation

#[derive(Default)]
struct Ctx {
    out: Vec<Indicator>,
    unsupported: Counter,
    /// The first error found by our own checks; serde's error is then only the carrier.
    error: Option<ParseError>,
    events: usize,
    /// True when the document was an array or had a `response` list (possibly empty).
    container: bool,
}

impl Ctx {
    fn abort<E: de::Error>(&mut self, e: ParseError) -> E {
        if self.error.is_none() {
            self.error = Some(e);
        }
        E::custom("stopped")
    }
}

#[derive(Default)]
struct EventState {
    uuid: Option<String>,
    id: Option<String>,
    threat: Option<u8>,
    tags: TagSet,
    /// Indicators of this event's own attributes.
    own: Vec<Range<usize>>,
    /// Indicators whose source id waits for the event's uuid: (index, attribute part).
    fallback: Vec<(usize, String)>,
    is_event: bool,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Key {
    Event,
    Response,
    Attribute,
    Object,
    Tag,
    EventTag,
    AttributeTag,
    ThreatLevel,
    Uuid,
    Id,
    Info,
    Type,
    Value,
    ToIds,
    Deleted,
    Name,
    Other,
}

struct KeySeed;

impl<'de> DeserializeSeed<'de> for KeySeed {
    type Value = Key;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Key, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeySeed {
    type Value = Key;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a field name")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Key, E> {
        Ok(match v {
            "Event" => Key::Event,
            "response" => Key::Response,
            "Attribute" => Key::Attribute,
            "Object" => Key::Object,
            "Tag" => Key::Tag,
            "EventTag" => Key::EventTag,
            "AttributeTag" => Key::AttributeTag,
            "threat_level_id" => Key::ThreatLevel,
            "uuid" => Key::Uuid,
            "id" => Key::Id,
            "info" => Key::Info,
            "type" => Key::Type,
            "value" => Key::Value,
            "to_ids" => Key::ToIds,
            "deleted" => Key::Deleted,
            "name" => Key::Name,
            _ => Key::Other,
        })
    }
}

/// The document: an event object (or wrapper), or an array of them.
struct TopSeed<'c> {
    ctx: &'c mut Ctx,
}

impl<'de> DeserializeSeed<'de> for TopSeed<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for TopSeed<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a MISP event object, {\"Event\": ...}, {\"response\": [...]} or an array of {\"Event\": ...}")
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<(), A::Error> {
        EventVisitor {
            ctx: self.ctx,
            ptr: String::new(),
        }
        .visit_map(map)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<(), A::Error> {
        self.ctx.container = true;
        EventList {
            ctx: self.ctx,
            ptr: String::new(),
        }
        .visit_seq(seq)
    }
}

/// A list of events (or `{"Event": ...}` wrappers); `null` is an empty list.
struct EventList<'c> {
    ctx: &'c mut Ctx,
    ptr: String,
}

impl<'de> DeserializeSeed<'de> for EventList<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for EventList<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a list of MISP events")
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let mut i = 0usize;
        while seq
            .next_element_seed(EventSeed {
                ctx: &mut *self.ctx,
                ptr: format!("{}/{i}", self.ptr),
            })?
            .is_some()
        {
            i += 1;
        }
        Ok(())
    }
}

struct EventSeed<'c> {
    ctx: &'c mut Ctx,
    ptr: String,
}

impl<'de> DeserializeSeed<'de> for EventSeed<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(EventVisitor {
            ctx: self.ctx,
            ptr: self.ptr,
        })
    }
}

/// An event object, or a wrapper holding `Event` / `response`.
struct EventVisitor<'c> {
    ctx: &'c mut Ctx,
    ptr: String,
}

impl<'de> Visitor<'de> for EventVisitor<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a MISP event object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let ctx = self.ctx;
        let ptr = self.ptr;
        let mut ev = EventState::default();
        while let Some(key) = map.next_key_seed(KeySeed)? {
            match key {
                Key::Event => map.next_value_seed(EventSeed {
                    ctx: &mut *ctx,
                    ptr: format!("{ptr}/Event"),
                })?,
                Key::Response => {
                    ctx.container = true;
                    map.next_value_seed(EventList {
                        ctx: &mut *ctx,
                        ptr: format!("{ptr}/response"),
                    })?
                }
                Key::Attribute => {
                    ev.is_event = true;
                    map.next_value_seed(Attributes {
                        ctx: &mut *ctx,
                        ev: &mut ev,
                        ptr: format!("{ptr}/Attribute"),
                    })?
                }
                Key::Object => {
                    ev.is_event = true;
                    map.next_value_seed(Objects {
                        ctx: &mut *ctx,
                        ev: &mut ev,
                        ptr: format!("{ptr}/Object"),
                    })?
                }
                Key::Tag | Key::EventTag => {
                    ev.is_event = true;
                    let name = if key == Key::Tag { "Tag" } else { "EventTag" };
                    map.next_value_seed(Tags {
                        ctx: &mut *ctx,
                        set: &mut ev.tags,
                        ptr: format!("{ptr}/{name}"),
                    })?
                }
                Key::ThreatLevel => {
                    ev.is_event = true;
                    let raw: &'de RawValue = map.next_value()?;
                    let level = raw_str(raw, || format!("{ptr}/threat_level_id"))
                        .map_err(|e| ctx.abort::<A::Error>(e))?;
                    ev.threat = level.as_deref().and_then(threat_confidence);
                }
                Key::Uuid | Key::Id => {
                    ev.is_event = true;
                    let raw: &'de RawValue = map.next_value()?;
                    let name = if key == Key::Uuid { "uuid" } else { "id" };
                    let v = raw_str(raw, || format!("{ptr}/{name}"))
                        .map_err(|e| ctx.abort::<A::Error>(e))?
                        .map(|s| s.trim().to_string())
                        .filter(|s| !s.is_empty());
                    if key == Key::Uuid {
                        ev.uuid = v;
                    } else {
                        ev.id = v;
                    }
                }
                Key::Info => {
                    ev.is_event = true;
                    map.next_value::<IgnoredAny>()?;
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        if ev.is_event {
            ctx.events += 1;
            finish_event(ctx, ev);
        }
        Ok(())
    }
}

fn finish_event(ctx: &mut Ctx, ev: EventState) {
    let confidence = ev.tags.confidence().or(ev.threat);
    for range in ev.own {
        let Some(inds) = ctx.out.get_mut(range) else {
            continue;
        };
        for ind in inds {
            if ind.confidence.is_none() {
                ind.confidence = confidence;
            }
            for l in &ev.tags.labels {
                push_label(&mut ind.labels, l);
            }
        }
    }
    if !ev.fallback.is_empty() {
        let key = ev
            .uuid
            .or(ev.id)
            .unwrap_or_else(|| format!("event-{}", ctx.events));
        for (index, part) in ev.fallback {
            if let Some(ind) = ctx.out.get_mut(index) {
                ind.source_id = format!("{key}/{part}");
            }
        }
    }
}

/// `Event.Object[]`.
struct Objects<'c, 'e> {
    ctx: &'c mut Ctx,
    ev: &'e mut EventState,
    ptr: String,
}

impl<'de> DeserializeSeed<'de> for Objects<'_, '_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Objects<'_, '_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a list of MISP objects")
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let mut i = 0usize;
        while seq
            .next_element_seed(Object {
                ctx: &mut *self.ctx,
                ev: &mut *self.ev,
                ptr: format!("{}/{i}", self.ptr),
            })?
            .is_some()
        {
            i += 1;
        }
        Ok(())
    }
}

struct Object<'c, 'e> {
    ctx: &'c mut Ctx,
    ev: &'e mut EventState,
    ptr: String,
}

impl<'de> DeserializeSeed<'de> for Object<'_, '_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for Object<'_, '_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a MISP object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let ctx = self.ctx;
        let ptr = self.ptr;
        let start = ctx.out.len();
        let mut deleted = false;
        while let Some(key) = map.next_key_seed(KeySeed)? {
            match key {
                Key::Attribute => map.next_value_seed(Attributes {
                    ctx: &mut *ctx,
                    ev: &mut *self.ev,
                    ptr: format!("{ptr}/Attribute"),
                })?,
                Key::Deleted => {
                    let raw: &'de RawValue = map.next_value()?;
                    deleted = raw_bool(raw, false, || format!("{ptr}/deleted"))
                        .map_err(|e| ctx.abort::<A::Error>(e))?;
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        if deleted && let Some(inds) = ctx.out.get_mut(start..) {
            for ind in inds {
                ind.revoked = true;
            }
        }
        Ok(())
    }
}

/// `Attribute[]` of an event or object.
struct Attributes<'c, 'e> {
    ctx: &'c mut Ctx,
    ev: &'e mut EventState,
    ptr: String,
}

impl<'de> DeserializeSeed<'de> for Attributes<'_, '_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Attributes<'_, '_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a list of MISP attributes")
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let ctx = self.ctx;
        let ptr = self.ptr;
        let start = ctx.out.len();
        let mut i = 0usize;
        while let Some(attr) = seq.next_element_seed(AttributeSeed {
            ctx: &mut *ctx,
            ptr: &ptr,
            index: i,
        })? {
            attribute(ctx, self.ev, attr, &ptr, i).map_err(|e| ctx.abort::<A::Error>(e))?;
            i += 1;
        }
        self.ev.own.push(start..ctx.out.len());
        Ok(())
    }
}

#[derive(Default)]
struct RawAttr<'de> {
    ty: Option<&'de RawValue>,
    value: Option<&'de RawValue>,
    to_ids: Option<&'de RawValue>,
    deleted: Option<&'de RawValue>,
    uuid: Option<&'de RawValue>,
    id: Option<&'de RawValue>,
    tags: TagSet,
}

struct AttributeSeed<'c, 'p> {
    ctx: &'c mut Ctx,
    ptr: &'p str,
    index: usize,
}

impl<'de> DeserializeSeed<'de> for AttributeSeed<'_, '_> {
    type Value = RawAttr<'de>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<RawAttr<'de>, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for AttributeSeed<'_, '_> {
    type Value = RawAttr<'de>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a MISP attribute object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawAttr<'de>, A::Error> {
        let mut a = RawAttr::default();
        while let Some(key) = map.next_key_seed(KeySeed)? {
            match key {
                Key::Type => a.ty = Some(map.next_value()?),
                Key::Value => a.value = Some(map.next_value()?),
                Key::ToIds => a.to_ids = Some(map.next_value()?),
                Key::Deleted => a.deleted = Some(map.next_value()?),
                Key::Uuid => a.uuid = Some(map.next_value()?),
                Key::Id => a.id = Some(map.next_value()?),
                Key::Tag | Key::AttributeTag => {
                    let name = if key == Key::Tag {
                        "Tag"
                    } else {
                        "AttributeTag"
                    };
                    map.next_value_seed(Tags {
                        ctx: &mut *self.ctx,
                        set: &mut a.tags,
                        ptr: format!("{}/{}/{name}", self.ptr, self.index),
                    })?
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(a)
    }
}

/// Turns one attribute into indicators or counts.
fn attribute(
    ctx: &mut Ctx,
    ev: &mut EventState,
    a: RawAttr<'_>,
    list: &str,
    index: usize,
) -> Res<()> {
    let at = |field: &str| format!("{list}/{index}/{field}");
    let Some(ty_raw) = a.ty else {
        return Err(error(
            "attribute without a type",
            Some(format!("{list}/{index}")),
        ));
    };
    let ty = raw_str(ty_raw, || at("type"))?.unwrap_or_default();
    let ty = ty.trim();
    let target = match map_type(ty) {
        Mapping::To(t) => t,
        Mapping::Skip => return Ok(()),
        Mapping::Unsupported => {
            ctx.unsupported
                .add(format!("misp:{}", cut(ty, MAX_KIND_TYPE)));
            return Ok(());
        }
    };
    let kind = |suffix: &str| format!("misp:{}{suffix}", cut(ty, MAX_KIND_TYPE));
    let to_ids = match a.to_ids {
        Some(raw) => raw_bool(raw, true, || at("to_ids"))?,
        None => true,
    };
    if !to_ids {
        ctx.unsupported.add(kind(":not-for-detection"));
        return Ok(());
    }
    let value = match a.value {
        Some(raw) => raw_str(raw, || at("value"))?,
        None => None,
    };
    let Some(value) = value else {
        return Err(error("attribute without a value", Some(at("value"))));
    };
    let (found, bad) = normalise(target, value.trim());
    if found.is_empty() && target == Target::Uri {
        ctx.unsupported.add(kind(""));
        return Ok(());
    }
    if bad {
        ctx.unsupported.add(kind(":invalid-value"));
    }
    if found.is_empty() {
        return Ok(());
    }
    let revoked = match a.deleted {
        Some(raw) => raw_bool(raw, false, || at("deleted"))?,
        None => false,
    };
    let uuid = match a.uuid {
        Some(raw) => raw_str(raw, || at("uuid"))?
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty()),
        None => None,
    };
    let fallback = match uuid {
        Some(_) => None,
        None => Some(match a.id {
            Some(raw) => raw_str(raw, || at("id"))?
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .unwrap_or_else(|| format!("#{index}")),
            None => format!("#{index}"),
        }),
    };
    let source_id = uuid.unwrap_or_default();
    let confidence = a.tags.confidence();
    for (k, v) in found {
        let mut ind = indicator(k, v, source_id.clone());
        ind.revoked = revoked;
        ind.confidence = confidence;
        ind.labels = a.tags.labels.clone();
        if let Some(part) = &fallback {
            ev.fallback.push((ctx.out.len(), part.clone()));
        }
        ctx.out.push(ind);
    }
    Ok(())
}

/// A tag list: `[{"name": ...}, ...]`, `[{"Tag": {"name": ...}}, ...]` or `["name", ...]`.
struct Tags<'c, 's> {
    ctx: &'c mut Ctx,
    set: &'s mut TagSet,
    ptr: String,
}

impl<'de> DeserializeSeed<'de> for Tags<'_, '_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Tags<'_, '_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a list of MISP tags")
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let mut i = 0usize;
        while seq
            .next_element_seed(TagSeed {
                ctx: &mut *self.ctx,
                set: &mut *self.set,
                ptr: format!("{}/{i}", self.ptr),
            })?
            .is_some()
        {
            i += 1;
        }
        Ok(())
    }
}

struct TagSeed<'c, 's> {
    ctx: &'c mut Ctx,
    set: &'s mut TagSet,
    ptr: String,
}

impl<'de> DeserializeSeed<'de> for TagSeed<'_, '_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for TagSeed<'_, '_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a MISP tag")
    }
    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<(), E> {
        self.visit_str(v)
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<(), E> {
        if v.len() > MAX_VALUE_LEN {
            return Err(self.ctx.abort(too_long(v.len(), self.ptr)));
        }
        self.set.add(v);
        Ok(())
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let ctx = self.ctx;
        let ptr = self.ptr;
        while let Some(key) = map.next_key_seed(KeySeed)? {
            match key {
                Key::Name => {
                    let raw: &'de RawValue = map.next_value()?;
                    let name = raw_str(raw, || format!("{ptr}/name"))
                        .map_err(|e| ctx.abort::<A::Error>(e))?;
                    if let Some(name) = name {
                        self.set.add(&name);
                    }
                }
                Key::Tag => map.next_value_seed(TagSeed {
                    ctx: &mut *ctx,
                    set: &mut *self.set,
                    ptr: format!("{ptr}/Tag"),
                })?,
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// Feed manifest

struct ManifestSeed<'c, 'o> {
    ctx: &'c mut Ctx,
    out: &'o mut Vec<(String, Option<u64>)>,
}

impl<'de> DeserializeSeed<'de> for ManifestSeed<'_, '_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

/// A map key, unless it is longer than [`MAX_VALUE_LEN`] (then its length).
struct BoundedKey;

impl<'de> DeserializeSeed<'de> for BoundedKey {
    type Value = Result<Cow<'de, str>, usize>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for BoundedKey {
    type Value = Result<Cow<'de, str>, usize>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an event UUID")
    }
    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(if v.len() > MAX_VALUE_LEN {
            Err(v.len())
        } else {
            Ok(Cow::Borrowed(v))
        })
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(if v.len() > MAX_VALUE_LEN {
            Err(v.len())
        } else {
            Ok(Cow::Owned(v.to_string()))
        })
    }
}

/// A JSON pointer token (RFC 6901), cut for display.
fn pointer_token(key: &str) -> String {
    cut(key, 64).replace('~', "~0").replace('/', "~1")
}

fn is_uuid(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_hexdigit(),
        })
}

impl<'de> Visitor<'de> for ManifestSeed<'_, '_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a MISP feed manifest object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let ctx = self.ctx;
        while let Some(key) = map.next_key_seed(BoundedKey)? {
            let key = match key {
                Ok(k) => k,
                Err(len) => {
                    return Err(ctx.abort(error(
                        format!(
                            "manifest key is {len} bytes, over the limit of {MAX_VALUE_LEN} bytes"
                        ),
                        None,
                    )));
                }
            };
            let at = format!("/{}", pointer_token(&key));
            if !is_uuid(&key) {
                return Err(ctx.abort(error(
                    format!("manifest key {:?} is not an event UUID", cut(&key, 64)),
                    Some(at),
                )));
            }
            let timestamp = map.next_value_seed(ManifestEntry {
                ctx: &mut *ctx,
                ptr: &at,
            })?;
            self.out.push((key.into_owned(), timestamp));
        }
        Ok(())
    }
}

struct ManifestEntry<'c, 'p> {
    ctx: &'c mut Ctx,
    ptr: &'p str,
}

impl<'de> DeserializeSeed<'de> for ManifestEntry<'_, '_> {
    type Value = Option<u64>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Option<u64>, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for ManifestEntry<'_, '_> {
    type Value = Option<u64>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an object describing the event")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Option<u64>, A::Error> {
        let mut timestamp = None;
        while let Some(key) = map.next_key_seed(BoundedKey)? {
            if key.as_deref().ok() == Some("timestamp") {
                let raw: &'de RawValue = map.next_value()?;
                let at = || format!("{}/timestamp", self.ptr);
                let text = raw_str(raw, at).map_err(|e| self.ctx.abort::<A::Error>(e))?;
                timestamp = match text {
                    None => None,
                    Some(t) => match t.trim().parse::<u64>() {
                        Ok(n) => Some(n),
                        Err(_) => {
                            return Err(self.ctx.abort(error(
                                format!("timestamp {:?} is not a number of seconds", cut(&t, 64)),
                                Some(at()),
                            )));
                        }
                    },
                };
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(timestamp)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn depth_scan_skips_strings() {
        assert!(check_depth(br#"{"a": "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\"[[["}"#).is_ok());
        let deep = format!("{}{}", "[".repeat(65), "]".repeat(65));
        let e = check_depth(deep.as_bytes()).expect_err("error");
        assert_eq!(e.location.as_deref(), Some("line 1 column 65"));
        let ok = format!("{}{}", "[".repeat(64), "]".repeat(64));
        assert!(check_depth(ok.as_bytes()).is_ok());
        assert_eq!(skip_string(br#"abc\"def"x"#, 0), 9);
        assert_eq!(skip_string(br#"0123456789abcdef\\"x"#, 0), 19);
        assert_eq!(skip_string(b"unterminated", 0), 12);
    }

    #[test]
    fn line_columns() {
        assert_eq!(line_column(b"ab\ncd", 4), "line 2 column 2");
        assert_eq!(line_column(b"abcd", 0), "line 1 column 1");
    }

    #[test]
    fn tag_confidences() {
        assert_eq!(
            tag_confidence("misp:confidence-level=\"usually-confident\""),
            Some((0, 75))
        );
        assert_eq!(
            tag_confidence("admiralty-scale:source-reliability=\"f\""),
            None
        );
        assert_eq!(
            tag_confidence("admiralty-scale:information-credibility=\"2\""),
            Some((1, 80))
        );
        assert_eq!(
            tag_confidence("estimative-language:likelihood-probability=\"likely\""),
            Some((3, 70))
        );
        assert_eq!(tag_confidence("tlp:white"), None);
    }

    #[test]
    fn uuids() {
        assert!(is_uuid("5f1d7a0e-6b0c-4e8a-9a3c-1b2c3d4e5f60"));
        assert!(!is_uuid("../../etc/passwd"));
        assert!(!is_uuid("5f1d7a0e-6b0c-4e8a-9a3c-1b2c3d4e5f6g"));
    }
}
