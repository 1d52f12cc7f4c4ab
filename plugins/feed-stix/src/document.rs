//! Reading the JSON document in one pass.
//!
//! The top level is a STIX bundle, a TAXII 2.1 envelope or a bare array of objects. Objects
//! are read one at a time and handed to [`Builder`] as soon as each is complete, so the
//! document is never held as a tree. Of each object only the fields [`Builder`] uses are kept
//! (borrowed from the input unless they hold escapes); everything else is skipped by
//! serde_json without allocating, and without recursion, so huge strings and deep nesting in
//! skipped values cost neither memory nor stack. The kept fields are [`Field`]s, loosely
//! typed: their types are checked by [`Builder`], only on indicators, so an object the parser
//! skips never fails the document.
//!
//! Errors name where they are: syntax and shape errors by line and column (and the object and
//! field being read, when there is one), errors found by [`Builder`] by JSON pointer.

use std::borrow::Cow;
use std::fmt;

use articdbm_feed_sdk::{ParseError, ParseOutput, error};
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use crate::MAX_LABELS;
use crate::object::{At, Builder};

const EXPECTED_TOP: &str = "a STIX bundle ({\"type\": \"bundle\", \"objects\": [...]}), a TAXII 2.1 envelope ({\"objects\": [...]}) or a JSON array of STIX objects";

/// Reads `document` into indicators.
pub fn read(document: &[u8]) -> Result<ParseOutput, ParseError> {
    let mut reader = Reader::default();
    let mut json = serde_json::Deserializer::from_slice(document);
    let result = TopLevel(&mut reader)
        .deserialize(&mut json)
        .and_then(|()| json.end());
    match result {
        Ok(()) => Ok(reader.builder.finish()),
        Err(e) => Err(reader
            .failure
            .take()
            .unwrap_or_else(|| reader.json_error(&e))),
    }
}

/// The state of one read.
#[derive(Default)]
struct Reader {
    builder: Builder,
    /// The object being read, and the field, to name them in serde errors.
    object: Option<At>,
    field: Option<&'static str>,
    /// The error [`Builder`] found, when it stopped the read.
    failure: Option<ParseError>,
}

impl Reader {
    /// A serde_json error as a parse error located by line and column.
    fn json_error(&self, e: &serde_json::Error) -> ParseError {
        let text = e.to_string();
        let position = format!(" at line {} column {}", e.line(), e.column());
        let mut message = text.strip_suffix(&position).unwrap_or(&text).to_string();
        match (self.object, self.field) {
            (Some(at), Some(field)) => message.push_str(&format!(" (in {})", at.field(field))),
            (Some(at), None) => message.push_str(&format!(" (in {})", at.object())),
            _ => {}
        }
        error(
            message,
            Some(format!("line {} column {}", e.line(), e.column())),
        )
    }

    /// Reads an array of objects whose elements sit at `base/N`.
    fn objects<'de, A: SeqAccess<'de>>(
        &mut self,
        base: &'static str,
        mut seq: A,
    ) -> Result<(), A::Error> {
        for index in 0.. {
            let at = At { base, index };
            self.object = Some(at);
            if seq
                .next_element_seed(ObjectSeed { reader: self, at })?
                .is_none()
            {
                break;
            }
        }
        self.object = None;
        Ok(())
    }
}

/// The top level: a bundle, an envelope or an array.
struct TopLevel<'r>(&'r mut Reader);

impl<'de> DeserializeSeed<'de> for TopLevel<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for TopLevel<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(EXPECTED_TOP)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<(), A::Error> {
        self.0.objects("", seq)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let (mut bundle, mut envelope, mut objects) = (false, false, false);
        while let Some(key) = map.next_key::<TopKey>()? {
            match key {
                TopKey::Type => {
                    let kind = map.next_value::<Field<'_>>()?;
                    if !matches!(&kind, Field::Str(t) if t == "bundle") {
                        return Err(de::Error::custom(format!(
                            "expected {EXPECTED_TOP}, found an object with \"type\" {}",
                            kind.describe()
                        )));
                    }
                    bundle = true;
                }
                TopKey::Objects if objects => return Err(de::Error::duplicate_field("objects")),
                TopKey::Objects => {
                    objects = true;
                    map.next_value_seed(ObjectsSeed(&mut *self.0))?;
                }
                TopKey::Envelope => {
                    envelope = true;
                    map.next_value::<IgnoredAny>()?;
                }
                TopKey::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        if !(bundle || envelope || objects) {
            return Err(de::Error::custom(format!(
                "expected {EXPECTED_TOP}, found an object without \"type\", \"objects\", \"more\" or \"next\""
            )));
        }
        Ok(())
    }
}

/// Keys of the top-level object.
enum TopKey {
    Type,
    Objects,
    /// `more` or `next`, which only a TAXII envelope has.
    Envelope,
    Other,
}

impl<'de> de::Deserialize<'de> for TopKey {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_identifier(KeyVisitor(|key| match key {
            "type" => TopKey::Type,
            "objects" => TopKey::Objects,
            "more" | "next" => TopKey::Envelope,
            _ => TopKey::Other,
        }))
    }
}

/// The value of `objects`: an array of objects.
struct ObjectsSeed<'r>(&'r mut Reader);

impl<'de> DeserializeSeed<'de> for ObjectsSeed<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for ObjectsSeed<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("\"objects\" to be an array of STIX objects")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<(), A::Error> {
        self.0.objects("/objects", seq)
    }
}

/// One STIX object, at `at`.
struct ObjectSeed<'r> {
    reader: &'r mut Reader,
    at: At,
}

impl<'de> DeserializeSeed<'de> for ObjectSeed<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for ObjectSeed<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a STIX object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut object = RawObject::default();
        while let Some(FieldKey(name)) = map.next_key()? {
            let Some(name) = name.filter(|_| !object.is_skipped()) else {
                map.next_value::<IgnoredAny>()?;
                continue;
            };
            let slot = object.slot(name);
            if slot.is_some() {
                return Err(de::Error::duplicate_field(name.as_str()));
            }
            self.reader.field = Some(name.as_str());
            *slot = Some(map.next_value()?);
            self.reader.field = None;
        }
        self.reader.builder.add(self.at, object).map_err(|failure| {
            let message = de::Error::custom(&failure.message);
            self.reader.failure = Some(failure);
            message
        })
    }
}

/// The fields of a STIX object the parser reads.
#[derive(Default)]
pub struct RawObject<'de> {
    pub kind: Option<Field<'de>>,
    pub id: Option<Field<'de>>,
    pub pattern: Option<Field<'de>>,
    pub pattern_type: Option<Field<'de>>,
    pub valid_from: Option<Field<'de>>,
    pub valid_until: Option<Field<'de>>,
    pub revoked: Option<Field<'de>>,
    pub confidence: Option<Field<'de>>,
    pub labels: Option<Field<'de>>,
    pub indicator_types: Option<Field<'de>>,
}

impl<'de> RawObject<'de> {
    /// True once the object is known not to be an indicator: its other fields are skipped.
    fn is_skipped(&self) -> bool {
        matches!(&self.kind, Some(Field::Str(t)) if t != "indicator")
    }

    fn slot(&mut self, name: FieldName) -> &mut Option<Field<'de>> {
        match name {
            FieldName::Type => &mut self.kind,
            FieldName::Id => &mut self.id,
            FieldName::Pattern => &mut self.pattern,
            FieldName::PatternType => &mut self.pattern_type,
            FieldName::ValidFrom => &mut self.valid_from,
            FieldName::ValidUntil => &mut self.valid_until,
            FieldName::Revoked => &mut self.revoked,
            FieldName::Confidence => &mut self.confidence,
            FieldName::Labels => &mut self.labels,
            FieldName::IndicatorTypes => &mut self.indicator_types,
        }
    }
}

/// The fields of a STIX object the parser reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FieldName {
    Type,
    Id,
    Pattern,
    PatternType,
    ValidFrom,
    ValidUntil,
    Revoked,
    Confidence,
    Labels,
    IndicatorTypes,
}

impl FieldName {
    const ALL: [Self; 10] = [
        Self::Type,
        Self::Id,
        Self::Pattern,
        Self::PatternType,
        Self::ValidFrom,
        Self::ValidUntil,
        Self::Revoked,
        Self::Confidence,
        Self::Labels,
        Self::IndicatorTypes,
    ];

    fn as_str(self) -> &'static str {
        match self {
            Self::Type => "type",
            Self::Id => "id",
            Self::Pattern => "pattern",
            Self::PatternType => "pattern_type",
            Self::ValidFrom => "valid_from",
            Self::ValidUntil => "valid_until",
            Self::Revoked => "revoked",
            Self::Confidence => "confidence",
            Self::Labels => "labels",
            Self::IndicatorTypes => "indicator_types",
        }
    }
}

/// A key of a STIX object: a field the parser reads, or `None` for another.
struct FieldKey(Option<FieldName>);

impl<'de> de::Deserialize<'de> for FieldKey {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_identifier(KeyVisitor(|key| {
            FieldKey(FieldName::ALL.into_iter().find(|name| name.as_str() == key))
        }))
    }
}

/// Maps an object key to `K` without copying it.
struct KeyVisitor<K>(fn(&str) -> K);

impl<K> Visitor<'_> for KeyVisitor<K> {
    type Value = K;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a key")
    }

    fn visit_str<E: de::Error>(self, key: &str) -> Result<K, E> {
        Ok((self.0)(key))
    }
}

/// The value of a field the parser reads, loosely typed.
#[derive(Debug, Clone, PartialEq)]
pub enum Field<'de> {
    Null,
    Bool(bool),
    Int(i128),
    Float(f64),
    Str(Cow<'de, str>),
    Array(Strings<'de>),
    Object,
}

impl Field<'_> {
    /// What the value is, for error messages.
    pub fn describe(&self) -> String {
        match self {
            Self::Null => "null".to_string(),
            Self::Bool(b) => b.to_string(),
            Self::Int(n) => n.to_string(),
            Self::Float(x) => format!("{x:?}"),
            Self::Str(s) if s.len() <= 64 => format!("{s:?}"),
            Self::Str(s) => format!("a string of {} bytes", s.len()),
            Self::Array(_) => "an array".to_string(),
            Self::Object => "an object".to_string(),
        }
    }
}

/// An array, as far as the parser reads arrays: its strings.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Strings<'de> {
    /// The elements, up to [`MAX_LABELS`] of them; `None` for one that is not a string.
    pub items: Vec<Option<Cow<'de, str>>>,
    /// How many elements the array holds.
    pub len: usize,
}

impl<'de> de::Deserialize<'de> for Field<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(FieldVisitor)
    }
}

struct FieldVisitor;

impl<'de> Visitor<'de> for FieldVisitor {
    type Value = Field<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_unit<E: de::Error>(self) -> Result<Field<'de>, E> {
        Ok(Field::Null)
    }

    fn visit_bool<E: de::Error>(self, b: bool) -> Result<Field<'de>, E> {
        Ok(Field::Bool(b))
    }

    fn visit_i64<E: de::Error>(self, n: i64) -> Result<Field<'de>, E> {
        Ok(Field::Int(n.into()))
    }

    fn visit_u64<E: de::Error>(self, n: u64) -> Result<Field<'de>, E> {
        Ok(Field::Int(n.into()))
    }

    fn visit_f64<E: de::Error>(self, x: f64) -> Result<Field<'de>, E> {
        Ok(Field::Float(x))
    }

    fn visit_borrowed_str<E: de::Error>(self, s: &'de str) -> Result<Field<'de>, E> {
        Ok(Field::Str(Cow::Borrowed(s)))
    }

    fn visit_str<E: de::Error>(self, s: &str) -> Result<Field<'de>, E> {
        Ok(Field::Str(Cow::Owned(s.to_string())))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Field<'de>, A::Error> {
        let mut strings = Strings::default();
        loop {
            let more = if strings.len < MAX_LABELS {
                seq.next_element::<Element<'de>>()?
                    .map(|e| strings.items.push(e.0))
            } else {
                seq.next_element::<IgnoredAny>()?.map(drop)
            };
            if more.is_none() {
                return Ok(Field::Array(strings));
            }
            strings.len += 1;
        }
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Field<'de>, A::Error> {
        IgnoredAny.visit_map(map).map(|_| Field::Object)
    }
}

/// An array element: a string, or `None` for anything else (skipped).
struct Element<'de>(Option<Cow<'de, str>>);

impl<'de> de::Deserialize<'de> for Element<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ElementVisitor)
    }
}

struct ElementVisitor;

impl<'de> Visitor<'de> for ElementVisitor {
    type Value = Element<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_borrowed_str<E: de::Error>(self, s: &'de str) -> Result<Element<'de>, E> {
        Ok(Element(Some(Cow::Borrowed(s))))
    }

    fn visit_str<E: de::Error>(self, s: &str) -> Result<Element<'de>, E> {
        Ok(Element(Some(Cow::Owned(s.to_string()))))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Element<'de>, E> {
        Ok(Element(None))
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Element<'de>, E> {
        Ok(Element(None))
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Element<'de>, E> {
        Ok(Element(None))
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Element<'de>, E> {
        Ok(Element(None))
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Element<'de>, E> {
        Ok(Element(None))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Element<'de>, A::Error> {
        IgnoredAny.visit_seq(seq).map(|_| Element(None))
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Element<'de>, A::Error> {
        IgnoredAny.visit_map(map).map(|_| Element(None))
    }
}
