//! Hostile MISP documents: deep nesting, huge strings, in used and unused places.
//!
//! A counting allocator (per thread) checks that huge strings are never copied.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use articdbm_feed_misp::{Parser, manifest_events};
use articdbm_feed_sdk::{FeedParser, MAX_DEPTH, MAX_VALUE_LEN, ParseError, ParseOutput};

struct Counting;

thread_local! {
    static LIVE: Cell<isize> = const { Cell::new(0) };
    static PEAK: Cell<isize> = const { Cell::new(0) };
}

fn note(delta: isize) {
    let _ = LIVE.try_with(|live| {
        let now = live.get() + delta;
        live.set(now);
        let _ = PEAK.try_with(|peak| {
            if now > peak.get() {
                peak.set(now);
            }
        });
    });
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note(layout.size() as isize);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        note(-(layout.size() as isize));
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note(layout.size() as isize);
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note(new_size as isize - layout.size() as isize);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Runs `f` and returns its result with the peak of bytes allocated (and not yet freed) on this
/// thread while it ran.
fn peak_during<T>(f: impl FnOnce() -> T) -> (T, usize) {
    let base = LIVE.with(Cell::get);
    PEAK.with(|p| p.set(base));
    let out = f();
    let peak = PEAK.with(Cell::get) - base;
    (out, peak.max(0) as usize)
}

fn parse(doc: &[u8]) -> Result<ParseOutput, ParseError> {
    Parser::parse("misp", doc)
}

const MB200: usize = 200 * 1024 * 1024;
/// The variations use smaller strings: unoptimised test builds scan ~150 MB/s.
const MB16: usize = 16 * 1024 * 1024;

/// `before`, then 200 MB of `fill`, then `after`.
fn huge_doc(before: &str, fill: &[u8], after: &str) -> Vec<u8> {
    huge_doc_of(MB200, before, fill, after)
}

/// `before`, then `size` bytes of `fill` repeated, then `after`.
fn huge_doc_of(size: usize, before: &str, fill: &[u8], after: &str) -> Vec<u8> {
    let mut doc = Vec::with_capacity(before.len() + size + after.len());
    doc.extend_from_slice(before.as_bytes());
    if let [byte] = fill {
        doc.resize(before.len() + size, *byte);
    } else {
        let block = fill.repeat((1 << 20) / fill.len());
        while doc.len() + block.len() <= before.len() + size {
            doc.extend_from_slice(&block);
        }
    }
    doc.extend_from_slice(after.as_bytes());
    doc
}

const ATTR: &str = r#"{"type": "domain", "uuid": "u1", "to_ids": true, "value": "bad.example"}"#;

#[test]
fn deep_nesting_is_refused() {
    let depth = 10_000;
    let doc = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
    let (res, peak) = peak_during(|| parse(doc.as_bytes()));
    let e = res.expect_err("error");
    assert_eq!(
        e.message,
        format!("JSON nesting is deeper than {MAX_DEPTH} levels")
    );
    assert_eq!(e.location.as_deref(), Some("line 1 column 65"));
    assert!(peak < 1 << 20, "peak {peak}");

    // Inside a field the parser does not use, on a later line.
    let doc = format!(
        "{{\"Event\": {{\"uuid\": \"e\",\n\"Galaxy\": {}{}, \"Attribute\": [{ATTR}]}}}}",
        "{\"a\":".repeat(depth),
        "}".repeat(depth)
    );
    let e = parse(doc.as_bytes()).expect_err("error");
    assert!(e.message.contains("nesting is deeper"), "{}", e.message);
    assert_eq!(e.location.as_deref(), Some("line 2 column 321"));

    let e = manifest_events(doc.as_bytes()).expect_err("error");
    assert!(e.message.contains("nesting is deeper"), "{}", e.message);

    // Brackets inside strings are not nesting.
    let doc = format!(
        r#"{{"Event": {{"info": "{}", "Attribute": [{ATTR}]}}}}"#,
        "[".repeat(depth)
    );
    assert_eq!(parse(doc.as_bytes()).expect("parses").indicators.len(), 1);
}

#[test]
fn huge_string_in_a_used_field_is_refused() {
    let doc = huge_doc(
        r#"{"Event": {"uuid": "e", "Attribute": [{"type": "md5", "value": "x"}, {"type": "url", "to_ids": true, "value": ""#,
        b"a",
        r#""}]}}"#,
    );
    let (res, peak) = peak_during(|| parse(&doc));
    let e = res.expect_err("error");
    assert_eq!(
        e.message,
        format!("string is {MB200} bytes, over the limit of {MAX_VALUE_LEN} bytes")
    );
    assert_eq!(e.location.as_deref(), Some("/Event/Attribute/1/value"));
    assert!(peak < 1 << 20, "the string was copied: peak {peak}");

    // With escapes in it: still refused without unescaping it.
    let doc = huge_doc_of(
        MB16,
        r#"{"Event": {"Attribute": [{"type": "domain", "value": ""#,
        br"\u0041",
        r#""}]}}"#,
    );
    let (res, peak) = peak_during(|| parse(&doc));
    let e = res.expect_err("error");
    assert!(
        e.message.contains("as written, over the limit"),
        "{}",
        e.message
    );
    assert_eq!(e.location.as_deref(), Some("/Event/Attribute/0/value"));
    assert!(peak < 1 << 20, "the string was copied: peak {peak}");

    // An event uuid and a tag name are used too.
    let doc = huge_doc_of(MB16, r#"{"Event": {"Tag": [{"name": ""#, b"t", r#""}]}}"#);
    let e = parse(&doc).expect_err("error");
    assert_eq!(e.location.as_deref(), Some("/Event/Tag/0/name"));
}

#[test]
fn huge_string_in_an_unused_field_is_skipped_without_copying() {
    let doc = huge_doc(
        r#"{"Event": {"uuid": "e", "info": ""#,
        b"i",
        &format!(r#"", "Attribute": [{ATTR}]}}}}"#),
    );
    let started = std::time::Instant::now();
    let (res, peak) = peak_during(|| parse(&doc));
    let out = res.expect("parses");
    eprintln!(
        "200 MB info: {:?}, peak allocation {peak} bytes",
        started.elapsed()
    );
    assert_eq!(out.indicators.len(), 1);
    assert!(peak < 1 << 20, "the string was copied: peak {peak}");

    // Unknown attribute fields, values of unmapped types, escaped text: skipped alike.
    let doc = huge_doc_of(
        MB16,
        r#"{"Event": {"Attribute": [{"type": "text", "comment": "\"\n", "value": ""#,
        br"\\\u00e9",
        &format!(r#""}}, {ATTR}]}}}}"#),
    );
    let (res, peak) = peak_during(|| parse(&doc));
    let out = res.expect("parses");
    assert_eq!(out.indicators.len(), 1);
    assert_eq!(out.unsupported.len(), 1);
    assert!(peak < 1 << 20, "the string was copied: peak {peak}");
}
