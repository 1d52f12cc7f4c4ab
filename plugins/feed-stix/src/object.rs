//! One STIX object: an indicator's fields checked, and its pattern turned into indicators.
//!
//! Only `indicator` objects are read; other types are skipped. An indicator whose
//! `pattern_type` is not `stix` (missing means `stix`, as in STIX 2.0) is counted as
//! `pattern_type:<name>`; a STIX pattern that does not parse as `pattern:syntax-error`. The
//! other fields become the indicators' metadata: `id` the source id, `valid_from` /
//! `valid_until` the validity window, `revoked`, `confidence` (0-100), and `labels` plus
//! `indicator_types` the labels. A field of the wrong type or beyond its limit is an error
//! naming it by JSON pointer.

use std::borrow::Cow;
use std::collections::HashSet;
use std::mem::size_of;

use articdbm_feed_sdk::time::parse_rfc3339;
use articdbm_feed_sdk::unsupported::Counter;
use articdbm_feed_sdk::{Indicator, MAX_VALUE_LEN, ParseError, ParseOutput, error, indicator};

use crate::document::{Field, RawObject};
use crate::extract::{Candidate, Window, extract};
use crate::{MAX_LABELS, MAX_OUTPUT_BYTES, MAX_PATTERN_LEN, pattern};

/// Where an object sits in the document: element `index` of the array at `base`.
#[derive(Debug, Clone, Copy)]
pub struct At {
    pub base: &'static str,
    pub index: usize,
}

impl At {
    /// The object's JSON pointer.
    pub fn object(self) -> String {
        format!("{}/{}", self.base, self.index)
    }

    /// The JSON pointer of the object's field `name`.
    pub fn field(self, name: &str) -> String {
        format!("{}/{}/{name}", self.base, self.index)
    }

    fn error(self, field: &str, message: String) -> ParseError {
        error(message, Some(self.field(field)))
    }
}

/// Collects the indicators and unsupported counts of a document, object by object.
#[derive(Default)]
pub struct Builder {
    indicators: Vec<Indicator>,
    unsupported: Counter,
    /// Estimated memory of `indicators`, bounded by [`MAX_OUTPUT_BYTES`].
    output_bytes: usize,
}

/// What every indicator of one object shares.
struct Common {
    id: String,
    window: Window,
    revoked: bool,
    confidence: Option<u8>,
    labels: Vec<String>,
}

impl Builder {
    /// Adds the object at `at`.
    pub fn add(&mut self, at: At, object: RawObject<'_>) -> Result<(), ParseError> {
        match object.kind {
            Some(Field::Str(kind)) if kind == "indicator" => {}
            Some(Field::Str(_)) => return Ok(()),
            Some(other) => {
                return Err(at.error(
                    "type",
                    format!("\"type\" must be a string, found {}", other.describe()),
                ));
            }
            None => return Err(error("the object has no \"type\"", Some(at.object()))),
        }
        if let Some(language) = string(object.pattern_type, at, "pattern_type", MAX_VALUE_LEN)?
            && language != "stix"
        {
            self.unsupported.add(format!("pattern_type:{language}"));
            return Ok(());
        }
        let pattern = required(object.pattern, at, "pattern", MAX_PATTERN_LEN)?;
        let common = Common {
            id: required(object.id, at, "id", MAX_VALUE_LEN)?.into_owned(),
            window: Window {
                from: time(object.valid_from, at, "valid_from")?,
                until: time(object.valid_until, at, "valid_until")?,
            },
            revoked: flag(object.revoked, at, "revoked")?,
            confidence: confidence(object.confidence, at)?,
            labels: labels(
                [
                    ("labels", object.labels),
                    ("indicator_types", object.indicator_types),
                ],
                at,
            )?,
        };
        let Ok(parsed) = pattern::parse(&pattern) else {
            self.unsupported.add("pattern:syntax-error");
            return Ok(());
        };
        let extraction = extract(&parsed);
        for kind in extraction.unsupported {
            self.unsupported.add(kind);
        }
        extraction
            .candidates
            .into_iter()
            .try_for_each(|candidate| self.push(at, &common, candidate))
    }

    /// The indicators and unsupported counts.
    pub fn finish(self) -> ParseOutput {
        ParseOutput {
            indicators: self.indicators,
            unsupported: self.unsupported.into_list(),
        }
    }

    /// Adds the indicator `candidate` gives, with the object's metadata.
    fn push(&mut self, at: At, common: &Common, candidate: Candidate) -> Result<(), ParseError> {
        if candidate.value.len() > MAX_VALUE_LEN {
            return Err(at.error(
                "pattern",
                format!(
                    "a value in the pattern is {} bytes, longer than the limit of {MAX_VALUE_LEN} bytes",
                    candidate.value.len()
                ),
            ));
        }
        let cost = size_of::<Indicator>()
            + candidate.value.len()
            + common.id.len()
            + common
                .labels
                .iter()
                .chain(&candidate.labels)
                .map(|l| size_of::<String>() + l.len())
                .sum::<usize>();
        self.output_bytes = self.output_bytes.saturating_add(cost);
        if self.output_bytes > MAX_OUTPUT_BYTES {
            return Err(error(
                format!(
                    "the document yields more indicators than fit in {} MiB",
                    MAX_OUTPUT_BYTES >> 20
                ),
                Some(at.object()),
            ));
        }
        let mut labels = common.labels.clone();
        for label in candidate.labels {
            if !labels.contains(&label) {
                labels.push(label);
            }
        }
        let window = common.window.intersect(candidate.window);
        let mut item = indicator(candidate.kind, candidate.value, common.id.clone());
        item.confidence = common.confidence;
        item.valid_from = window.from;
        item.valid_until = window.until;
        item.revoked = common.revoked;
        item.labels = labels;
        self.indicators.push(item);
        Ok(())
    }
}

/// A string field of at most `limit` bytes; missing or null is `None`.
fn string<'de>(
    field: Option<Field<'de>>,
    at: At,
    name: &str,
    limit: usize,
) -> Result<Option<Cow<'de, str>>, ParseError> {
    match field {
        None | Some(Field::Null) => Ok(None),
        Some(Field::Str(text)) if text.len() > limit => Err(at.error(
            name,
            format!(
                "\"{name}\" is {} bytes, longer than the limit of {limit} bytes",
                text.len()
            ),
        )),
        Some(Field::Str(text)) => Ok(Some(text)),
        Some(other) => Err(at.error(
            name,
            format!("\"{name}\" must be a string, found {}", other.describe()),
        )),
    }
}

/// A string field an indicator must have.
fn required<'de>(
    field: Option<Field<'de>>,
    at: At,
    name: &str,
    limit: usize,
) -> Result<Cow<'de, str>, ParseError> {
    string(field, at, name, limit)?.ok_or_else(|| {
        error(
            format!("the indicator has no \"{name}\""),
            Some(at.object()),
        )
    })
}

/// A timestamp field, in milliseconds since the Unix epoch.
fn time(field: Option<Field<'_>>, at: At, name: &str) -> Result<Option<u64>, ParseError> {
    let Some(text) = string(field, at, name, MAX_VALUE_LEN)? else {
        return Ok(None);
    };
    parse_rfc3339(&text).map(Some).ok_or_else(|| {
        at.error(
            name,
            format!(
                "\"{name}\" is not an RFC 3339 timestamp after 1970: {}",
                Field::Str(text).describe()
            ),
        )
    })
}

/// A boolean field; missing means false.
fn flag(field: Option<Field<'_>>, at: At, name: &str) -> Result<bool, ParseError> {
    match field {
        None | Some(Field::Null) => Ok(false),
        Some(Field::Bool(value)) => Ok(value),
        Some(other) => Err(at.error(
            name,
            format!(
                "\"{name}\" must be true or false, found {}",
                other.describe()
            ),
        )),
    }
}

/// `confidence`: an integer 0-100.
fn confidence(field: Option<Field<'_>>, at: At) -> Result<Option<u8>, ParseError> {
    match field {
        None | Some(Field::Null) => Ok(None),
        Some(Field::Int(n)) if (0..=100).contains(&n) => Ok(u8::try_from(n).ok()),
        Some(other) => Err(at.error(
            "confidence",
            format!(
                "\"confidence\" must be an integer from 0 to 100, found {}",
                other.describe()
            ),
        )),
    }
}

/// The labels of `lists` (`labels`, `indicator_types`), each once, in order: a linear scan
/// finds repeats in the usual handful, a hash set in long lists.
fn labels(lists: [(&str, Option<Field<'_>>); 2], at: At) -> Result<Vec<String>, ParseError> {
    let mut all = Vec::new();
    for (name, field) in lists {
        let strings = match field {
            None | Some(Field::Null) => continue,
            Some(Field::Array(strings)) => strings,
            Some(other) => {
                return Err(at.error(
                    name,
                    format!(
                        "\"{name}\" must be an array of strings, found {}",
                        other.describe()
                    ),
                ));
            }
        };
        if strings.len > MAX_LABELS {
            return Err(at.error(
                name,
                format!(
                    "\"{name}\" has {} entries, more than the limit of {MAX_LABELS}",
                    strings.len
                ),
            ));
        }
        for (i, item) in strings.items.into_iter().enumerate() {
            let pointer = || format!("{}/{i}", at.field(name));
            match item {
                None => {
                    return Err(error(
                        format!("\"{name}\" entries must be strings"),
                        Some(pointer()),
                    ));
                }
                Some(label) if label.len() > MAX_VALUE_LEN => {
                    return Err(error(
                        format!(
                            "a label is {} bytes, longer than the limit of {MAX_VALUE_LEN} bytes",
                            label.len()
                        ),
                        Some(pointer()),
                    ));
                }
                Some(label) => all.push(label),
            }
        }
    }
    let mut unique: Vec<String> = Vec::with_capacity(all.len());
    if all.len() <= 16 {
        for label in all {
            if !unique.iter().any(|kept| *kept == label) {
                unique.push(label.into_owned());
            }
        }
    } else {
        let mut seen = HashSet::with_capacity(all.len());
        for label in &all {
            if seen.insert(label.as_ref()) {
                unique.push(label.to_string());
            }
        }
    }
    Ok(unique)
}
