//! OpenIOC feed parser: format `"openioc"`.
//!
//! Accepts OpenIOC 1.0 (root `ioc` in `http://schemas.mandiant.com/2010/ioc`, indicators under
//! `definition`) and OpenIOC 1.1 (root `OpenIOC` in `http://openioc.org/schemas/OpenIOC_1.1`,
//! metadata under `metadata`, indicators under `criteria`, parameters under `parameters`).
//! Any other root name or namespace is an error naming the accepted ones.
//!
//! The document is read as a stream of XML events (quick-xml); no tree of it is built, and text
//! the parser does not use is never copied.
//!
//! # Context mapping
//!
//! An `IndicatorItem` is `<Context search=".."/>` plus `<Content>value</Content>`. The
//! `search` term decides the indicator kind (compared ASCII case-insensitively):
//!
//! | `search`                                                        | kind                 |
//! |-----------------------------------------------------------------|----------------------|
//! | `PortItem/remoteIP`, `PortItem/localIP`                         | address              |
//! | `RouteEntryItem/Destination`                                    | address              |
//! | `ArpEntryItem/IPv4Address`, `ArpEntryItem/IPv6Address`          | address              |
//! | `DnsEntryItem/RecordData/IPv4Address`, `.../IPv6Address`        | address              |
//! | any other term whose last segment is `IP` or ends in a lower-case letter then `IP` (`Network/IP`, `Email/ReceivedFromIP`), or ends in `IPAddress` / `IPv4Address` / `IPv6Address` (any case) | address, when the value is one (otherwise counted as `<search>`) |
//! | `Network/DNS`, `Network/HostName`                               | domain (address if the value is an IP) |
//! | `DnsEntryItem/Host`, `DnsEntryItem/RecordName`, `DnsEntryItem/RecordData/Host` | domain (address if the value is an IP) |
//! | `UrlHistoryItem/HostName`                                       | domain (address if the value is an IP) |
//! | `Network/URI`, `Network/URL`, `UrlHistoryItem/URL`              | url (only with `scheme://host`) |
//! | `UserItem/Username`                                             | user                 |
//! | `Email/From`, `Email/ReplyTo`                                   | email (`Name <addr>` accepted) |
//!
//! Not mapped on purpose: `ProcessItem/Username` (the account a process runs as, often
//! `SYSTEM`; blocking it would block legitimate accounts), `UserItem/SecurityID` and other
//! non-name user terms, and `Email/To`, `Email/CC`, `Email/BCC` (recipients are victims).
//!
//! # Conditions and nesting
//!
//! - `is` gives an exact indicator; `isnot` gives the same indicator with `negated = true`.
//!   OpenIOC 1.1 `negate="true"` flips `negated` (so `negate="true"` with `isnot` is `is`).
//!   Negated indicators are emitted (hosts skip them) and not counted as unsupported.
//!   `preserve-case` is ignored.
//! - `contains`, `containsnot`, `starts-with`, `ends-with`, `matches`, `greater-than`,
//!   `less-than` and any other condition cannot be enforced by an exact per-value lookup.
//! - `<Indicator operator="OR">` is a union. `<Indicator operator="AND">` with more than one
//!   child cannot be enforced without over-blocking (lookups are per value), so nothing beneath
//!   it is emitted; an AND with a single child is just that child.
//!
//! # Unsupported kinds (counted, never dropped silently)
//!
//! | kind                      | when                                                            |
//! |---------------------------|-----------------------------------------------------------------|
//! | `<search>`                | the context is not in the table above (`FileItem/Md5sum`, ...)  |
//! | `<search> <condition>`    | a mapped context with a condition other than `is` / `isnot`     |
//! | `<search>:invalid-value`  | a mapped context whose value does not normalise (e.g. a `Network/URI` path without `scheme://host`) |
//! | `and:<search>`            | an item that would be an indicator, beneath a multi-child AND   |
//!
//! `<search>` is the term as written (trimmed, cut to 128 bytes). Beneath a multi-child AND,
//! items that would not be indicators anyway keep their own kind.
//!
//! # Metadata
//!
//! - `source_id`: the `IndicatorItem` `id`; without one, `<ioc id>/<n>` (n = the item's
//!   1-based position in the document).
//! - labels (same for every indicator of the document, at most 32, each cut to 256 bytes):
//!   `short_description`, each comma/semicolon/line separated `keywords` entry, and for each
//!   `links/link` with text, `<rel>:<text>` (1.0: root children; 1.1: under `metadata`).
//! - confidence: 1.1 `parameters/param` named `confidence` (case-insensitive) with a `value`
//!   of `0`..`100` (optionally followed by `%`) or `low` / `medium` / `high` (30 / 60 / 90).
//!   Its `ref-id` names an `IndicatorItem` (that item) or an `Indicator` (every item beneath
//!   it; the nearest one wins). Other parameters are ignored.
//! - `authored_date`, `last-modified` and `published-date` are authoring times, not validity:
//!   no validity window is set.
//!
//! # Hostile documents
//!
//! - Any `DOCTYPE` is an error (no entity can be declared, so none can expand); only the five
//!   predefined entities and numeric character references are resolved, any other reference
//!   is an error.
//! - Element nesting deeper than [`MAX_DEPTH`] is an error with the XML path.
//! - Text or attribute values the parser uses longer than [`MAX_VALUE_LEN`] are an error with
//!   the XML path; text elsewhere is skipped without being copied.
//! - The document must be UTF-8 (a UTF-8 byte-order mark is allowed).
//!
//! Error locations are XML paths such as `/OpenIOC/criteria[1]/Indicator[1]/IndicatorItem[2]`
//! (an attribute as `/@name`), or `byte N` for syntax errors.

use std::collections::HashMap;

use articdbm_feed_sdk::names::{normalize_domain, normalize_email, normalize_url, normalize_user};
use articdbm_feed_sdk::net::normalize_address;
use articdbm_feed_sdk::unsupported::Counter;
use articdbm_feed_sdk::{
    FeedParser, Indicator, IndicatorKind, MAX_DEPTH, MAX_VALUE_LEN, ParseError, ParseOutput, error,
    export_parser, indicator,
};
use quick_xml::NsReader;
use quick_xml::escape::resolve_xml_entity;
use quick_xml::events::{BytesStart, Event};
use quick_xml::name::ResolveResult;

/// The OpenIOC 1.0 namespace.
pub const NS_1_0: &str = "http://schemas.mandiant.com/2010/ioc";
/// The OpenIOC 1.1 namespace.
pub const NS_1_1: &str = "http://openioc.org/schemas/OpenIOC_1.1";

/// Most labels put on one indicator.
pub const MAX_LABELS: usize = 32;
/// Longest label, in bytes (longer ones are cut at a character boundary).
pub const MAX_LABEL_LEN: usize = 256;
/// Longest `search` term kept in an unsupported kind, in bytes.
const MAX_KIND_SEARCH: usize = 128;
/// Distinct child element names a frame tracks for positional indexes in paths.
const MAX_TRACKED_CHILD_NAMES: usize = 16;
/// Longest element name kept in a path segment, in bytes.
const MAX_PATH_NAME: usize = 64;

/// The OpenIOC parser component.
pub struct Parser;

impl FeedParser for Parser {
    fn parse(format: &str, document: &[u8]) -> Result<ParseOutput, ParseError> {
        if format != "openioc" {
            return Err(error(
                format!("format {format:?} is not handled by this parser; it accepts \"openioc\""),
                None,
            ));
        }
        parse_openioc(document)
    }
}

export_parser!(Parser);

/// Parses an OpenIOC 1.0 or 1.1 document.
pub fn parse_openioc(document: &[u8]) -> Result<ParseOutput, ParseError> {
    let text = match std::str::from_utf8(document) {
        Ok(t) => t,
        Err(e) => {
            return Err(error(
                "the document is not UTF-8",
                Some(format!("byte {}", e.valid_up_to())),
            ));
        }
    };
    let (text, bom) = match text.strip_prefix('\u{feff}') {
        Some(rest) => (rest, 3),
        None => (text, 0),
    };
    let mut doc = Doc::new(text, bom);
    doc.run()?;
    Ok(doc.finish())
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Version {
    V10,
    V11,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum LabelKind {
    ShortDescription,
    Keywords,
    Link,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    Root,
    Metadata,
    Label(LabelKind),
    Links,
    Definition,
    Indicator,
    Item,
    Context,
    Content,
    Parameters,
    Param,
    ParamValue,
    Other,
}

impl Kind {
    fn captures_text(self) -> bool {
        matches!(self, Kind::Label(_) | Kind::Content | Kind::ParamValue)
    }
}

struct Frame {
    kind: Kind,
    /// Length of `Doc::path` before this element's segment.
    path_len: usize,
    /// Child element names seen so far and how many of each (bounded).
    children: Vec<(Vec<u8>, u32)>,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Op {
    And,
    Or,
}

struct Group {
    /// Index into `Doc::groups`.
    index: usize,
    op: Op,
    children: u32,
    pending: Vec<Outcome>,
}

struct GroupInfo {
    id: Option<String>,
    parent: Option<usize>,
}

struct Pending {
    ind: Indicator,
    /// The `and:<search>` kind counted if this lands beneath a multi-child AND.
    and_kind: String,
    /// The innermost `Indicator` group, if any.
    group: Option<usize>,
    /// The item's own `id`, for `parameters` that reference it.
    item_id: Option<String>,
}

enum Outcome {
    Emit(Box<Pending>),
    Count(String),
}

#[derive(Default)]
struct Item {
    id: Option<String>,
    condition: Option<String>,
    negate: bool,
    search: Option<String>,
    content: Option<String>,
    has_context: bool,
    ordinal: u64,
}

#[derive(Default)]
struct Param {
    ref_id: Option<String>,
    name: Option<String>,
    value: Option<String>,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Target {
    Address,
    /// An address by the name of the search term alone: a value that is not one is counted as
    /// the unmapped `<search>`, not as an invalid value.
    AddressGuess,
    /// A domain, or an address when the value is one.
    Domain,
    Url,
    User,
    Email,
}

struct Doc<'a> {
    reader: NsReader<&'a [u8]>,
    /// Length of a byte-order mark skipped before the reader's input (for byte offsets).
    bom: u64,
    version: Option<Version>,
    root_done: bool,
    stack: Vec<Frame>,
    path: String,
    ioc_id: Option<String>,
    groups_stack: Vec<Group>,
    groups: Vec<GroupInfo>,
    item: Option<Item>,
    items_seen: u64,
    param: Option<Param>,
    link_rel: Option<String>,
    text: String,
    labels: Vec<String>,
    confidence: HashMap<String, u8>,
    emitted: Vec<Pending>,
    unsupported: Counter,
}

impl<'a> Doc<'a> {
    fn new(text: &'a str, bom: u64) -> Self {
        let mut reader = NsReader::from_str(text);
        {
            let config = reader.config_mut();
            config.trim_text(false);
            config.expand_empty_elements = false;
            config.check_end_names = true;
            config.allow_dangling_amp = false;
        }
        Doc {
            reader,
            bom,
            version: None,
            root_done: false,
            stack: Vec::new(),
            path: String::new(),
            ioc_id: None,
            groups_stack: Vec::new(),
            groups: Vec::new(),
            item: None,
            items_seen: 0,
            param: None,
            link_rel: None,
            text: String::new(),
            labels: Vec::new(),
            confidence: HashMap::new(),
            emitted: Vec::new(),
            unsupported: Counter::default(),
        }
    }

    fn location(&self) -> Option<String> {
        if self.path.is_empty() {
            Some("/".to_string())
        } else {
            Some(self.path.clone())
        }
    }

    fn err_here(&self, message: impl Into<String>) -> ParseError {
        error(message, self.location())
    }

    fn run(&mut self) -> Result<(), ParseError> {
        loop {
            let offset = self.reader.buffer_position() + self.bom;
            let (ns, event) = match self.reader.read_resolved_event() {
                Ok((ns, event)) => (ns_of(&ns), event),
                Err(e) => {
                    let at = self.reader.error_position() + self.bom;
                    let inside = if self.path.is_empty() {
                        String::new()
                    } else {
                        format!(" inside {}", self.path)
                    };
                    return Err(error(
                        format!("malformed XML{inside}: {e}"),
                        Some(format!("byte {at}")),
                    ));
                }
            };
            match event {
                Event::Start(e) => self.start(&e, ns, offset)?,
                Event::Empty(e) => {
                    self.start(&e, ns, offset)?;
                    self.end()?;
                }
                Event::End(_) => self.end()?,
                Event::Text(t) => {
                    if self.stack.is_empty() {
                        if !t.iter().all(u8::is_ascii_whitespace) {
                            return Err(error(
                                "text outside the root element",
                                Some(format!("byte {offset}")),
                            ));
                        }
                    } else if self.capturing() {
                        let s = t
                            .decode()
                            .map_err(|e| self.err_here(format!("bad text: {e}")))?;
                        self.push_text(&s)?;
                    }
                }
                Event::CData(t) => {
                    if self.stack.is_empty() {
                        return Err(error(
                            "CDATA outside the root element",
                            Some(format!("byte {offset}")),
                        ));
                    }
                    if self.capturing() {
                        let s = t
                            .decode()
                            .map_err(|e| self.err_here(format!("bad CDATA: {e}")))?;
                        self.push_text(&s)?;
                    }
                }
                Event::GeneralRef(r) => {
                    let name = r
                        .decode()
                        .map_err(|e| self.err_here(format!("bad reference: {e}")))?;
                    if self.stack.is_empty() {
                        return Err(error(
                            format!(
                                "entity reference &{}; outside the root element",
                                cut(&name, 64)
                            ),
                            Some(format!("byte {offset}")),
                        ));
                    }
                    let resolved: String = if name.starts_with('#') {
                        match r.resolve_char_ref() {
                            Ok(Some(c)) => c.to_string(),
                            _ => {
                                return Err(self.err_here(format!(
                                    "invalid character reference &{}; (at byte {offset})",
                                    cut(&name, 64)
                                )));
                            }
                        }
                    } else if let Some(s) = resolve_xml_entity(&name) {
                        s.to_string()
                    } else {
                        return Err(self.err_here(format!(
                            "unknown entity reference &{}; (only the predefined XML entities and character references are accepted; at byte {offset})",
                            cut(&name, 64)
                        )));
                    };
                    if self.capturing() {
                        self.push_text(&resolved)?;
                    }
                }
                Event::DocType(_) => {
                    return Err(error(
                        "DOCTYPE declarations are not accepted (entity expansion)",
                        Some(format!("byte {offset}")),
                    ));
                }
                Event::Decl(_) | Event::PI(_) | Event::Comment(_) => {}
                Event::Eof => {
                    if !self.stack.is_empty() {
                        return Err(
                            self.err_here("the document ends before this element is closed")
                        );
                    }
                    if !self.root_done {
                        return Err(error(
                            "empty document: no root element",
                            Some("byte 0".into()),
                        ));
                    }
                    return Ok(());
                }
            }
        }
    }

    fn capturing(&self) -> bool {
        self.stack.last().is_some_and(|f| f.kind.captures_text())
    }

    fn push_text(&mut self, s: &str) -> Result<(), ParseError> {
        if self.text.len() + s.len() > MAX_VALUE_LEN {
            return Err(self.err_here(format!(
                "text is longer than the limit of {MAX_VALUE_LEN} bytes"
            )));
        }
        self.text.push_str(s);
        Ok(())
    }

    fn push_segment(&mut self, local: &[u8]) {
        let index = match self.stack.last_mut() {
            None => None,
            Some(parent) => {
                if let Some(entry) = parent
                    .children
                    .iter_mut()
                    .find(|(n, _)| n.as_slice() == local)
                {
                    entry.1 = entry.1.saturating_add(1);
                    Some(entry.1)
                } else if parent.children.len() < MAX_TRACKED_CHILD_NAMES {
                    parent.children.push((local.to_vec(), 1));
                    Some(1)
                } else {
                    None
                }
            }
        };
        self.path.push('/');
        let name = String::from_utf8_lossy(local);
        self.path.push_str(cut(&name, MAX_PATH_NAME));
        if let (Some(i), false) = (index, self.stack.is_empty()) {
            self.path.push_str(&format!("[{i}]"));
        }
    }

    fn start(&mut self, e: &BytesStart<'_>, ns: NsKind, offset: u64) -> Result<(), ParseError> {
        let path_len = self.path.len();
        let name = e.name();
        let local = name.local_name();
        let local = local.as_ref();
        self.push_segment(local);
        if self.stack.len() >= MAX_DEPTH {
            return Err(self.err_here(format!(
                "elements are nested deeper than {MAX_DEPTH} levels"
            )));
        }
        if self.root_done {
            return Err(error(
                "a second root element",
                Some(format!("{} (byte {offset})", self.path)),
            ));
        }
        let parent = self.stack.last().map(|f| f.kind);
        let kind = match parent {
            None => {
                self.version = match (ns, local) {
                    (NsKind::V10, b"ioc") => Some(Version::V10),
                    (NsKind::V11, b"OpenIOC") => Some(Version::V11),
                    _ => {
                        return Err(self.err_here(format!(
                            "the root element is not OpenIOC: expected <ioc> in {NS_1_0} (1.0) or <OpenIOC> in {NS_1_1} (1.1)"
                        )));
                    }
                };
                Kind::Root
            }
            Some(parent) => {
                let ours = matches!(
                    (self.version, ns),
                    (Some(Version::V10), NsKind::V10) | (Some(Version::V11), NsKind::V11)
                );
                if ours {
                    child_kind(parent, local)
                } else {
                    Kind::Other
                }
            }
        };
        self.stack.push(Frame {
            kind,
            path_len,
            children: Vec::new(),
        });
        match kind {
            Kind::Root => {
                let [id] = self.attrs(e, ["id"])?;
                self.ioc_id = id;
            }
            Kind::Label(LabelKind::Link) => {
                let [rel] = self.attrs(e, ["rel"])?;
                self.link_rel = rel;
                self.text.clear();
            }
            Kind::Label(_) | Kind::Content | Kind::ParamValue => self.text.clear(),
            Kind::Indicator => {
                let [id, operator] = self.attrs(e, ["id", "operator"])?;
                let op = match operator.as_deref().map(str::trim) {
                    Some(o) if o.eq_ignore_ascii_case("or") => Op::Or,
                    Some(o) if o.eq_ignore_ascii_case("and") => Op::And,
                    Some(o) => {
                        return Err(self.err_here(format!(
                            "Indicator operator {:?} is neither AND nor OR",
                            cut(o, 64)
                        )));
                    }
                    None => return Err(self.err_here("Indicator without an operator attribute")),
                };
                if let Some(g) = self.groups_stack.last_mut() {
                    g.children += 1;
                }
                let index = self.groups.len();
                self.groups.push(GroupInfo {
                    id,
                    parent: self.groups_stack.last().map(|g| g.index),
                });
                self.groups_stack.push(Group {
                    index,
                    op,
                    children: 0,
                    pending: Vec::new(),
                });
            }
            Kind::Item => {
                let [id, condition, negate] = self.attrs(e, ["id", "condition", "negate"])?;
                let negate = match negate.as_deref().map(str::trim) {
                    None => false,
                    Some("true" | "1") => true,
                    Some("false" | "0") => false,
                    Some(other) => {
                        return Err(self.err_here(format!(
                            "negate attribute {:?} is not a boolean",
                            cut(other, 64)
                        )));
                    }
                };
                if let Some(g) = self.groups_stack.last_mut() {
                    g.children += 1;
                }
                self.items_seen += 1;
                self.item = Some(Item {
                    id: id.filter(|s| !s.trim().is_empty()),
                    condition,
                    negate,
                    ordinal: self.items_seen,
                    ..Item::default()
                });
            }
            Kind::Context => {
                let [search] = self.attrs(e, ["search"])?;
                if let Some(item) = self.item.as_mut()
                    && !item.has_context
                {
                    item.has_context = true;
                    item.search = search;
                }
            }
            Kind::Param => {
                let [ref_id, name] = self.attrs(e, ["ref-id", "name"])?;
                self.param = Some(Param {
                    ref_id,
                    name,
                    value: None,
                });
            }
            _ => {}
        }
        Ok(())
    }

    /// Reads the unprefixed attributes `names` of `e`, checked against [`MAX_VALUE_LEN`] and
    /// unescaped (predefined entities and character references only).
    fn attrs<const N: usize>(
        &self,
        e: &BytesStart<'_>,
        names: [&str; N],
    ) -> Result<[Option<String>; N], ParseError> {
        let mut out: [Option<String>; N] = std::array::from_fn(|_| None);
        for attr in e.attributes().with_checks(true) {
            let attr = attr.map_err(|err| self.err_here(format!("malformed attribute: {err}")))?;
            if attr.key.prefix().is_some() {
                continue;
            }
            let key = attr.key.local_name();
            let Some(slot) = names.iter().position(|n| n.as_bytes() == key.as_ref()) else {
                continue;
            };
            let at = || format!("{}/@{}", self.path, names[slot]);
            if attr.value.len() > MAX_VALUE_LEN {
                return Err(error(
                    format!(
                        "attribute value is {} bytes, over the limit of {MAX_VALUE_LEN} bytes",
                        attr.value.len()
                    ),
                    Some(at()),
                ));
            }
            let value = attr
                .decode_and_unescape_value_with(self.reader.decoder(), resolve_xml_entity)
                .map_err(|err| error(format!("bad attribute value: {err}"), Some(at())))?;
            out[slot] = Some(value.into_owned());
        }
        Ok(out)
    }

    fn end(&mut self) -> Result<(), ParseError> {
        let Some(kind) = self.stack.last().map(|f| f.kind) else {
            return Err(self.err_here("an end tag without a start tag"));
        };
        match kind {
            Kind::Root => self.root_done = true,
            Kind::Label(label) => {
                let text = std::mem::take(&mut self.text);
                let rel = self.link_rel.take();
                self.add_labels(label, rel, &text);
            }
            Kind::Content => {
                let text = std::mem::take(&mut self.text);
                if let Some(item) = self.item.as_mut()
                    && item.content.is_none()
                {
                    item.content = Some(text);
                }
            }
            Kind::ParamValue => {
                let text = std::mem::take(&mut self.text);
                if let Some(p) = self.param.as_mut()
                    && p.value.is_none()
                {
                    p.value = Some(text);
                }
            }
            Kind::Param => {
                if let Some(p) = self.param.take()
                    && let (Some(name), Some(ref_id), Some(value)) = (p.name, p.ref_id, p.value)
                    && name.trim().eq_ignore_ascii_case("confidence")
                    && let Some(c) = parse_confidence(&value)
                {
                    self.confidence.insert(ref_id.trim().to_string(), c);
                }
            }
            Kind::Item => {
                let outcome = self.finish_item()?;
                self.deliver(vec![outcome]);
            }
            Kind::Indicator => {
                if let Some(g) = self.groups_stack.pop() {
                    let outcomes = if g.op == Op::And && g.children > 1 {
                        g.pending
                            .into_iter()
                            .map(|o| match o {
                                Outcome::Emit(p) => Outcome::Count(p.and_kind),
                                c => c,
                            })
                            .collect()
                    } else {
                        g.pending
                    };
                    self.deliver(outcomes);
                }
            }
            _ => {}
        }
        if let Some(frame) = self.stack.pop() {
            self.path.truncate(frame.path_len);
        }
        Ok(())
    }

    /// Hands outcomes to the innermost open group, or to the result when there is none.
    fn deliver(&mut self, mut outcomes: Vec<Outcome>) {
        if let Some(g) = self.groups_stack.last_mut() {
            g.pending.append(&mut outcomes);
            return;
        }
        for o in outcomes {
            match o {
                Outcome::Emit(p) => self.emitted.push(*p),
                Outcome::Count(kind) => self.unsupported.add(kind),
            }
        }
    }

    fn finish_item(&mut self) -> Result<Outcome, ParseError> {
        let Some(item) = self.item.take() else {
            return Err(self.err_here("IndicatorItem state lost"));
        };
        if !item.has_context {
            return Err(self.err_here("IndicatorItem without a Context element"));
        }
        let Some(search) = item.search else {
            return Err(self.err_here("IndicatorItem Context without a search attribute"));
        };
        let Some(condition) = item.condition else {
            return Err(self.err_here("IndicatorItem without a condition attribute"));
        };
        let Some(content) = item.content else {
            return Err(self.err_here("IndicatorItem without a Content element"));
        };
        let search = search.trim();
        let search_kind = cut(search, MAX_KIND_SEARCH);
        let Some(target) = classify(search) else {
            return Ok(Outcome::Count(search_kind.to_string()));
        };
        let condition = condition.trim();
        let negated_by_condition = if condition.eq_ignore_ascii_case("is") {
            false
        } else if condition.eq_ignore_ascii_case("isnot") {
            true
        } else {
            return Ok(Outcome::Count(format!(
                "{search_kind} {}",
                cut(&condition.to_ascii_lowercase(), 32)
            )));
        };
        let Some((kind, value)) = normalise(target, &content) else {
            if target == Target::AddressGuess {
                return Ok(Outcome::Count(search_kind.to_string()));
            }
            return Ok(Outcome::Count(format!("{search_kind}:invalid-value")));
        };
        let source_id = match &item.id {
            Some(id) => id.clone(),
            None => format!(
                "{}/{}",
                self.ioc_id.as_deref().unwrap_or("openioc"),
                item.ordinal
            ),
        };
        let mut ind = indicator(kind, value, source_id);
        ind.negated = negated_by_condition != item.negate;
        Ok(Outcome::Emit(Box::new(Pending {
            ind,
            and_kind: format!("and:{search_kind}"),
            group: self.groups_stack.last().map(|g| g.index),
            item_id: item.id,
        })))
    }

    fn add_labels(&mut self, label: LabelKind, rel: Option<String>, text: &str) {
        match label {
            LabelKind::ShortDescription => push_label(&mut self.labels, text),
            LabelKind::Keywords => {
                for k in text.split([',', ';', '\n', '\r']) {
                    push_label(&mut self.labels, k);
                }
            }
            LabelKind::Link => {
                let text = text.trim();
                if text.is_empty() {
                    return;
                }
                match rel.as_deref().map(str::trim).filter(|r| !r.is_empty()) {
                    Some(rel) => push_label(&mut self.labels, &format!("{rel}:{text}")),
                    None => push_label(&mut self.labels, text),
                }
            }
        }
    }

    fn group_confidence(&self, mut group: Option<usize>) -> Option<u8> {
        // Parent indexes always point backwards, so this ends; the bound is belt and braces.
        for _ in 0..=MAX_DEPTH {
            let info = self.groups.get(group?)?;
            if let Some(c) = info
                .id
                .as_deref()
                .and_then(|id| self.confidence.get(id.trim()))
            {
                return Some(*c);
            }
            group = info.parent;
        }
        None
    }

    fn finish(mut self) -> ParseOutput {
        let emitted = std::mem::take(&mut self.emitted);
        let mut indicators = Vec::with_capacity(emitted.len());
        for p in emitted {
            let mut ind = p.ind;
            ind.confidence = p
                .item_id
                .as_deref()
                .and_then(|id| self.confidence.get(id.trim()).copied())
                .or_else(|| self.group_confidence(p.group));
            ind.labels = self.labels.clone();
            indicators.push(ind);
        }
        ParseOutput {
            indicators,
            unsupported: self.unsupported.into_list(),
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum NsKind {
    V10,
    V11,
    Other,
}

fn ns_of(ns: &ResolveResult<'_>) -> NsKind {
    match ns {
        ResolveResult::Bound(n) if n.as_ref() == NS_1_0.as_bytes() => NsKind::V10,
        ResolveResult::Bound(n) if n.as_ref() == NS_1_1.as_bytes() => NsKind::V11,
        _ => NsKind::Other,
    }
}

fn child_kind(parent: Kind, local: &[u8]) -> Kind {
    match (parent, local) {
        (Kind::Root, b"metadata") => Kind::Metadata,
        (Kind::Root | Kind::Metadata, b"short_description") => {
            Kind::Label(LabelKind::ShortDescription)
        }
        (Kind::Root | Kind::Metadata, b"keywords") => Kind::Label(LabelKind::Keywords),
        (Kind::Root | Kind::Metadata, b"links") => Kind::Links,
        (Kind::Links, b"link") => Kind::Label(LabelKind::Link),
        (Kind::Root, b"definition" | b"criteria") => Kind::Definition,
        (Kind::Definition | Kind::Indicator, b"Indicator") => Kind::Indicator,
        (Kind::Definition | Kind::Indicator, b"IndicatorItem") => Kind::Item,
        (Kind::Item, b"Context") => Kind::Context,
        (Kind::Item, b"Content") => Kind::Content,
        (Kind::Root, b"parameters") => Kind::Parameters,
        (Kind::Parameters, b"param") => Kind::Param,
        (Kind::Param, b"value") => Kind::ParamValue,
        _ => Kind::Other,
    }
}

/// The indicator kind of a `Context/@search` term, or `None` when it is not mapped.
fn classify(search: &str) -> Option<Target> {
    const TABLE: &[(&str, Target)] = &[
        ("PortItem/remoteIP", Target::Address),
        ("PortItem/localIP", Target::Address),
        ("RouteEntryItem/Destination", Target::Address),
        ("ArpEntryItem/IPv4Address", Target::Address),
        ("ArpEntryItem/IPv6Address", Target::Address),
        ("DnsEntryItem/RecordData/IPv4Address", Target::Address),
        ("DnsEntryItem/RecordData/IPv6Address", Target::Address),
        ("Network/DNS", Target::Domain),
        ("Network/HostName", Target::Domain),
        ("DnsEntryItem/Host", Target::Domain),
        ("DnsEntryItem/RecordName", Target::Domain),
        ("DnsEntryItem/RecordData/Host", Target::Domain),
        ("UrlHistoryItem/HostName", Target::Domain),
        ("Network/URI", Target::Url),
        ("Network/URL", Target::Url),
        ("UrlHistoryItem/URL", Target::Url),
        ("UserItem/Username", Target::User),
        ("Email/From", Target::Email),
        ("Email/ReplyTo", Target::Email),
    ];
    if let Some((_, t)) = TABLE.iter().find(|(s, _)| s.eq_ignore_ascii_case(search)) {
        return Some(*t);
    }
    let last = search.rsplit('/').next().unwrap_or(search);
    let lower = last.to_ascii_lowercase();
    let camel_ip = last == "IP"
        || last
            .strip_suffix("IP")
            .and_then(|head| head.chars().last())
            .is_some_and(|c| c.is_ascii_lowercase());
    if camel_ip
        || lower.ends_with("ipaddress")
        || lower.ends_with("ipv4address")
        || lower.ends_with("ipv6address")
    {
        return Some(Target::AddressGuess);
    }
    None
}

fn normalise(target: Target, value: &str) -> Option<(IndicatorKind, String)> {
    let value = value.trim();
    match target {
        Target::Address | Target::AddressGuess => {
            normalize_address(value).map(|v| (IndicatorKind::Address, v))
        }
        Target::Domain => normalize_address(value)
            .map(|v| (IndicatorKind::Address, v))
            .or_else(|| normalize_domain(value).map(|v| (IndicatorKind::Domain, v))),
        Target::Url => normalize_url(value).map(|v| (IndicatorKind::Url, v)),
        Target::User => normalize_user(value).map(|v| (IndicatorKind::User, v)),
        Target::Email => {
            let inner = match (value.rfind('<'), value.ends_with('>')) {
                (Some(i), true) => &value[i + 1..value.len() - 1],
                _ => value,
            };
            normalize_email(inner).map(|v| (IndicatorKind::Email, v))
        }
    }
}

/// `0`..`100` (optionally with `%`), or `low` / `medium` / `high`.
fn parse_confidence(text: &str) -> Option<u8> {
    let t = text.trim();
    let t = t.strip_suffix('%').unwrap_or(t).trim();
    if let Ok(n) = t.parse::<u8>() {
        return (n <= 100).then_some(n);
    }
    match t.to_ascii_lowercase().as_str() {
        "low" => Some(30),
        "medium" => Some(60),
        "high" => Some(90),
        _ => None,
    }
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

/// `s` cut to at most `max` bytes at a character boundary.
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_search_terms() {
        assert_eq!(classify("PortItem/remoteIP"), Some(Target::Address));
        assert_eq!(classify("portitem/REMOTEIP"), Some(Target::Address));
        assert_eq!(classify("Email/ReceivedFromIP"), Some(Target::AddressGuess));
        assert_eq!(classify("Network/IP"), Some(Target::AddressGuess));
        assert_eq!(
            classify("SystemInfoItem/networkArray/networkInfo/ipAddress"),
            Some(Target::AddressGuess)
        );
        assert_eq!(classify("Network/DNS"), Some(Target::Domain));
        assert_eq!(classify("FileItem/Md5sum"), None);
        assert_eq!(classify("FileItem/PEInfo/ZIP"), None);
        assert_eq!(classify("ProcessItem/Username"), None);
    }

    #[test]
    fn confidence_values() {
        assert_eq!(parse_confidence(" 85 "), Some(85));
        assert_eq!(parse_confidence("70%"), Some(70));
        assert_eq!(parse_confidence("101"), None);
        assert_eq!(parse_confidence("High"), Some(90));
        assert_eq!(parse_confidence("sure"), None);
    }

    #[test]
    fn cuts_at_char_boundaries() {
        assert_eq!(cut("héllo", 2), "h");
        assert_eq!(cut("abc", 5), "abc");
    }
}
