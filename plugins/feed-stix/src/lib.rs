//! The STIX 2.1 feed parser component.
//!
//! Reads a STIX 2.1 bundle (`{"type": "bundle", "objects": [...]}`), a TAXII 2.1 envelope
//! (`{"more": ..., "next": ..., "objects": [...]}`) or a bare JSON array of STIX objects, and
//! turns the `indicator` objects whose `pattern_type` is `stix` into what a database gateway
//! can enforce: addresses and CIDR blocks, domains, URLs, user accounts and e-mail addresses.
//!
//! The work is split in four steps, one module each:
//!
//! - `document` reads the JSON in one pass, object by object, borrowing the few fields it
//!   uses from the input and skipping everything else without copying it;
//! - `object` checks an indicator object's fields (id, validity window, revocation,
//!   confidence, labels) and turns what its pattern yields into indicators;
//! - `pattern` tokenizes and parses the STIX patterning language (STIX 2.1 section 9);
//! - `extract` decides what a parsed pattern lets a gateway enforce and names what it
//!   does not.
//!
//! Nothing is dropped silently: other object types (malware, relationship, identity...) are
//! not patterns and are skipped, but every indicator whose pattern cannot be enforced, or only
//! in part, is counted by kind in the output's `unsupported` list:
//!
//! | kind | meaning |
//! |---|---|
//! | `pattern_type:<name>` | a pattern in another language (sigma, snort, yara...) |
//! | `pattern:syntax-error` | a pattern that does not parse |
//! | `pattern:and` | an AND of different conditions (a per-value lookup would over-block) |
//! | `pattern:followedby` | a sequence of observations |
//! | `pattern:empty` | a pattern that matches nothing (`IN ()`) |
//! | `<type>:<property>` | a property a gateway cannot see (`file:hashes`, `process:name`) |
//! | `<path> <operator>` | an enforceable property under another operator (`domain-name:value LIKE`, `ipv4-addr:value NOT =`) |
//! | `<path>:invalid-value` | a constant that is not a valid address, domain, URL... |
//!
//! Each kind counts at most once per pattern.
//!
//! Hostile documents meet limits. Refused with an error naming where: a pattern longer than
//! [`MAX_PATTERN_LEN`], an id, label or value longer than
//! [`MAX_VALUE_LEN`](articdbm_feed_sdk::MAX_VALUE_LEN), more than [`MAX_LABELS`] labels, and
//! output larger than [`MAX_OUTPUT_BYTES`]. Counted as `pattern:syntax-error`: a pattern whose
//! brackets and parentheses nest deeper than [`MAX_DEPTH`](articdbm_feed_sdk::MAX_DEPTH).
//! Deeply nested JSON costs no stack: the values the parser reads are never nested (an object
//! or array where a string is expected is an error), and the values it skips are skipped
//! iteratively, at one byte of heap per level.

mod document;
mod extract;
mod object;
mod pattern;

use articdbm_feed_sdk::{FeedParser, ParseError, ParseOutput, error, export_parser};

/// The one format this parser reads.
pub const FORMAT: &str = "stix";

/// The longest STIX pattern accepted, in bytes.
pub const MAX_PATTERN_LEN: usize = 64 * 1024;

/// The most entries accepted in an indicator's `labels`, and in its `indicator_types`.
pub const MAX_LABELS: usize = 256;

/// The most memory the produced indicators may take, estimated from their strings. A pattern
/// yields one indicator per value and each carries the object's labels, so a small document
/// can ask for a large output; this bounds it well inside the component's memory limit.
pub const MAX_OUTPUT_BYTES: usize = 256 * 1024 * 1024;

/// The STIX 2.1 feed parser.
pub struct Parser;

impl FeedParser for Parser {
    fn parse(format: &str, document: &[u8]) -> Result<ParseOutput, ParseError> {
        if format != FORMAT {
            return Err(error(
                format!("format {format:?} is not supported: this parser reads {FORMAT:?}"),
                None,
            ));
        }
        document::read(document)
    }
}

export_parser!(Parser);
