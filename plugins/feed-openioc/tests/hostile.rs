//! Hostile OpenIOC documents: entity expansion, deep nesting, huge strings.
//!
//! A counting allocator (per thread) checks that huge text the parser does not use is never
//! copied.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use articdbm_feed_openioc::{NS_1_1, Parser};
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
    Parser::parse("openioc", doc)
}

const MB200: usize = 200 * 1024 * 1024;
/// Huge attribute values are smaller: quick-xml scans start tags byte by byte, which is slow in
/// unoptimised test builds (a 200 MB one takes ~10 s there, well under a second in release).
const MB16: usize = 16 * 1024 * 1024;

fn huge_doc(before: &str, after: &str) -> Vec<u8> {
    huge_doc_of(MB200, before, after)
}

fn huge_doc_of(size: usize, before: &str, after: &str) -> Vec<u8> {
    let mut doc = Vec::with_capacity(before.len() + size + after.len());
    doc.extend_from_slice(before.as_bytes());
    doc.resize(before.len() + size, b'x');
    doc.extend_from_slice(after.as_bytes());
    doc
}

const ITEM: &str = r#"<IndicatorItem id="i1" condition="is"><Context document="Network" search="Network/DNS" type="network"/><Content type="string">bad.example</Content></IndicatorItem>"#;

#[test]
fn billion_laughs_is_refused() {
    let doc = std::fs::read(format!(
        "{}/tests/data/billion-laughs.ioc",
        env!("CARGO_MANIFEST_DIR")
    ))
    .expect("fixture");
    let (res, peak) = peak_during(|| parse(&doc));
    let e = res.expect_err("error");
    assert_eq!(
        e.message,
        "DOCTYPE declarations are not accepted (entity expansion)"
    );
    assert_eq!(e.location.as_deref(), Some("byte 22"));
    assert!(peak < 1 << 20, "peak {peak}");
    // Even an internal subset without entities is refused.
    let e = parse(format!(r#"<!DOCTYPE OpenIOC><OpenIOC xmlns="{NS_1_1}"/>"#).as_bytes())
        .expect_err("error");
    assert!(e.message.starts_with("DOCTYPE"));
    // A reference to an entity a DOCTYPE would have declared is an error too.
    let e = parse(format!(r#"<OpenIOC xmlns="{NS_1_1}"><metadata><keywords>&lol9;</keywords></metadata></OpenIOC>"#).as_bytes())
        .expect_err("error");
    assert!(
        e.message.contains("unknown entity reference &lol9;"),
        "{}",
        e.message
    );
    assert_eq!(
        e.location.as_deref(),
        Some("/OpenIOC/metadata[1]/keywords[1]")
    );
}

#[test]
fn deep_nesting_is_refused() {
    let depth = 10_000;
    let mut doc = format!(r#"<OpenIOC xmlns="{NS_1_1}"><criteria>"#);
    doc.push_str(&r#"<Indicator operator="OR">"#.repeat(depth));
    doc.push_str(&"</Indicator>".repeat(depth));
    doc.push_str("</criteria></OpenIOC>");
    let (res, peak) = peak_during(|| parse(doc.as_bytes()));
    let e = res.expect_err("error");
    assert_eq!(
        e.message,
        format!("elements are nested deeper than {MAX_DEPTH} levels")
    );
    let at = e.location.expect("location");
    assert!(
        at.starts_with("/OpenIOC/criteria[1]/Indicator[1]/Indicator[1]/"),
        "{at}"
    );
    assert_eq!(at.matches('/').count(), MAX_DEPTH + 1);
    assert!(peak < 1 << 20, "peak {peak}");

    // Unknown elements count too.
    let mut doc = format!(r#"<OpenIOC xmlns="{NS_1_1}">"#);
    doc.push_str(&"<a>".repeat(depth));
    doc.push_str(&"</a>".repeat(depth));
    doc.push_str("</OpenIOC>");
    let e = parse(doc.as_bytes()).expect_err("error");
    assert!(e.message.contains("nested deeper"));
    // Exactly MAX_DEPTH levels is fine.
    let inner = MAX_DEPTH - 1;
    let doc = format!(
        r#"<OpenIOC xmlns="{NS_1_1}">{}{}</OpenIOC>"#,
        "<a>".repeat(inner),
        "</a>".repeat(inner)
    );
    assert!(parse(doc.as_bytes()).is_ok());
}

#[test]
fn huge_text_in_a_used_element_is_refused() {
    let doc = huge_doc(
        &format!(
            r#"<OpenIOC xmlns="{NS_1_1}"><criteria><Indicator operator="OR"><IndicatorItem id="i" condition="is"><Context search="Network/DNS"/><Content>"#
        ),
        "</Content></IndicatorItem></Indicator></criteria></OpenIOC>",
    );
    let (res, peak) = peak_during(|| parse(&doc));
    let e = res.expect_err("error");
    assert_eq!(
        e.message,
        format!("text is longer than the limit of {MAX_VALUE_LEN} bytes")
    );
    assert_eq!(
        e.location.as_deref(),
        Some("/OpenIOC/criteria[1]/Indicator[1]/IndicatorItem[1]/Content[1]")
    );
    assert!(peak < 1 << 20, "peak {peak}");
}

#[test]
fn huge_attribute_in_a_used_place_is_refused() {
    let doc = huge_doc_of(
        MB16,
        &format!(
            r#"<OpenIOC xmlns="{NS_1_1}"><criteria><Indicator operator="OR"><IndicatorItem id="i" condition="is"><Context search=""#
        ),
        r#""/><Content>a.example</Content></IndicatorItem></Indicator></criteria></OpenIOC>"#,
    );
    let (res, peak) = peak_during(|| parse(&doc));
    let e = res.expect_err("error");
    assert_eq!(
        e.message,
        format!("attribute value is {MB16} bytes, over the limit of {MAX_VALUE_LEN} bytes")
    );
    assert_eq!(
        e.location.as_deref(),
        Some("/OpenIOC/criteria[1]/Indicator[1]/IndicatorItem[1]/Context[1]/@search")
    );
    assert!(peak < 1 << 20, "peak {peak}");
}

#[test]
fn huge_text_in_an_unknown_element_is_skipped_without_copying() {
    let doc = huge_doc(
        &format!(r#"<OpenIOC xmlns="{NS_1_1}"><metadata><description>"#),
        &format!(
            r#"</description></metadata><criteria><Indicator operator="OR">{ITEM}</Indicator></criteria></OpenIOC>"#
        ),
    );
    let started = std::time::Instant::now();
    let (res, peak) = peak_during(|| parse(&doc));
    let out = res.expect("parses");
    eprintln!(
        "200 MB description: {:?}, peak allocation {peak} bytes",
        started.elapsed()
    );
    assert_eq!(out.indicators.len(), 1);
    assert!(peak < 1 << 20, "the text was copied: peak {peak}");

    // Also a huge unused attribute and a huge comment.
    let doc = huge_doc_of(
        MB16,
        &format!(r#"<OpenIOC xmlns="{NS_1_1}" last-modified=""#),
        &format!(
            r#""><!-- x --><criteria><Indicator operator="OR">{ITEM}</Indicator></criteria></OpenIOC>"#
        ),
    );
    let (res, peak) = peak_during(|| parse(&doc));
    assert_eq!(res.expect("parses").indicators.len(), 1);
    assert!(peak < 1 << 20, "peak {peak}");
}
