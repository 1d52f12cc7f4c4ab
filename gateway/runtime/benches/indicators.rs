//! ThreatStore lookups with a realistic million indicators loaded: 850k exact IPv4, 100k
//! exact IPv6, 25k IPv4 CIDRs (/8–/31, mostly /24) and 25k IPv6 CIDRs (/32–/127), from a few
//! global feeds and two tenant feeds, plus 100k domains. Prints the load time of the million
//! through `apply()` and the heap the store holds, then criterion's estimates of
//! `address_listed` (exact and CIDR hits, IPv4 and IPv6 misses) and `name_listed`.
//!
//! Under `cargo test --all-targets` (criterion's test mode, no `--bench`) the set is scaled
//! down 50× so a debug build sets up in well under a second.

use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::atomic::{AtomicBool, AtomicIsize, Ordering};
use std::time::Instant;

use articdbm_config::threat::{IndicatorChange, IndicatorEntry};
use articdbm_runtime::bindings::IndicatorKind;
use articdbm_runtime::indicators::{IndicatorStore, ThreatStore};
use criterion::{Criterion, criterion_group};

/// Counts live heap bytes while `COUNTING` is set, to report what the store holds (off while
/// lookups are measured).
struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);
static COUNTING: AtomicBool = AtomicBool::new(false);

fn count(delta: isize) {
    if COUNTING.load(Ordering::Relaxed) {
        LIVE.fetch_add(delta, Ordering::Relaxed);
    }
}

// SAFETY: every call is forwarded to the system allocator unchanged; only a counter is kept.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        count(l.size() as isize);
        // SAFETY: same contract as ours.
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        count(-(l.size() as isize));
        // SAFETY: same contract as ours.
        unsafe { System.dealloc(p, l) }
    }
    unsafe fn alloc_zeroed(&self, l: Layout) -> *mut u8 {
        count(l.size() as isize);
        // SAFETY: same contract as ours.
        unsafe { System.alloc_zeroed(l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
        count(new as isize - l.size() as isize);
        // SAFETY: same contract as ours.
        unsafe { System.realloc(p, l, new) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// xorshift64*: deterministic, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn v6(&mut self) -> u128 {
        // global unicast, 2000::/3
        let a = (u128::from(self.next()) << 64) | u128::from(self.next());
        (a & (u128::MAX >> 3)) | (1u128 << 125)
    }
}

const FEEDS: [&str; 4] = ["abuse", "spamhaus", "tor-exits", "botnet-c2"];

fn entry(rng: &mut Rng, kind: &str, value: String) -> IndicatorChange {
    let f = rng.below(10);
    let (feed, tenant) = match f {
        0 => ("acme/internal".to_string(), Some("acme".to_string())),
        1 => ("beta/internal".to_string(), Some("beta".to_string())),
        _ => (FEEDS[(f % 4) as usize].to_string(), None),
    };
    IndicatorChange::Upsert(IndicatorEntry {
        feed,
        tenant,
        kind: kind.into(),
        value,
        id: format!("indicator--{:016x}{:016x}", rng.next(), rng.next()),
        confidence: (50 + rng.below(51)) as u8,
        valid_from: None,
        valid_until: None,
    })
}

fn mask4(a: u32, p: u32) -> u32 {
    a & u32::MAX.checked_shl(32 - p).unwrap_or(0)
}

fn mask6(a: u128, p: u32) -> u128 {
    a & u128::MAX.checked_shl(128 - p).unwrap_or(0)
}

struct Set {
    changes: Vec<IndicatorChange>,
    exact4: Vec<IpAddr>,
    exact6: Vec<IpAddr>,
    cidr4: Vec<IpAddr>,
    cidr6: Vec<IpAddr>,
    domains: Vec<String>,
}

/// The indicator mix, `scale` = 1 for the full million.
fn build(scale: usize) -> Set {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut s = Set {
        changes: Vec::with_capacity(1_100_000 / scale),
        exact4: Vec::new(),
        exact6: Vec::new(),
        cidr4: Vec::new(),
        cidr6: Vec::new(),
        domains: Vec::new(),
    };
    const SAMPLE: usize = 4096;
    for i in 0..850_000 / scale {
        let a = Ipv4Addr::from(rng.next() as u32);
        if i < SAMPLE {
            s.exact4.push(IpAddr::V4(a));
        }
        s.changes.push(entry(&mut rng, "address", a.to_string()));
    }
    for i in 0..100_000 / scale {
        let a = Ipv6Addr::from(rng.v6());
        if i < SAMPLE {
            s.exact6.push(IpAddr::V6(a));
        }
        s.changes.push(entry(&mut rng, "address", a.to_string()));
    }
    for i in 0..25_000 / scale {
        // Feeds list few short blocks: 20 of /8–/15 in all, /24 the most common length.
        let p = if i < 20 {
            8 + (i as u32 % 8)
        } else {
            match rng.below(100) {
                0..60 => 24,
                60..80 => 16 + rng.below(8) as u32,
                _ => 25 + rng.below(7) as u32,
            }
        };
        let base = rng.next() as u32;
        let net = mask4(base, p);
        if s.cidr4.len() < SAMPLE && p >= 16 {
            // a host inside the block
            let host = net | (rng.next() as u32 & !u32::MAX.checked_shl(32 - p).unwrap_or(0));
            s.cidr4.push(IpAddr::V4(Ipv4Addr::from(host)));
        }
        s.changes.push(entry(
            &mut rng,
            "address",
            format!("{}/{p}", Ipv4Addr::from(net)),
        ));
    }
    for _ in 0..25_000 / scale {
        let p = 32 + rng.below(96) as u32;
        let net = mask6(rng.v6(), p);
        if s.cidr6.len() < SAMPLE {
            let host = net | (rng.v6() & !u128::MAX.checked_shl(128 - p).unwrap_or(0));
            s.cidr6.push(IpAddr::V6(Ipv6Addr::from(host)));
        }
        s.changes.push(entry(
            &mut rng,
            "address",
            format!("{}/{p}", Ipv6Addr::from(net)),
        ));
    }
    for i in 0..100_000 / scale {
        let d = format!("h{:x}.c{:x}.example", rng.next() >> 20, rng.below(1 << 20));
        if i < SAMPLE {
            s.domains.push(d.clone());
        }
        s.changes.push(entry(&mut rng, "domain", d));
    }
    s
}

/// Addresses not listed for tenant `acme` (checked against the store).
fn misses(store: &ThreatStore, mut next: impl FnMut() -> IpAddr) -> Vec<IpAddr> {
    let mut out = Vec::new();
    while out.len() < 4096 {
        let a = next();
        if store.address_listed("acme", a).is_none() {
            out.push(a);
        }
    }
    out
}

fn bench(c: &mut Criterion) {
    let full = std::env::args().any(|a| a == "--bench");
    let scale = if full { 1 } else { 50 };
    let t = Instant::now();
    let set = build(scale);
    let build_time = t.elapsed();
    let n = set.changes.len();

    // Only the store's own allocations are counted: the changes exist before and after.
    COUNTING.store(true, Ordering::Relaxed);
    let store = ThreatStore::new();
    let t = Instant::now();
    let report = store.apply(&set.changes);
    let load = t.elapsed();
    COUNTING.store(false, Ordering::Relaxed);
    let held = LIVE.load(Ordering::Relaxed);
    assert_eq!(report.rejected, 0, "{report:?}");
    println!(
        "threat store: {n} changes built in {:.2?}, applied in {:.2?} ({:.0} ns/indicator); {} entries, {:.1} MiB heap ({:.0} B/entry)",
        build_time,
        load,
        load.as_nanos() as f64 / n as f64,
        store.len(),
        held as f64 / (1024.0 * 1024.0),
        held as f64 / store.len().max(1) as f64,
    );
    // The hit samples may be shadowed by a tenant feed of another tenant: keep those acme sees.
    let visible = |v: &[IpAddr]| -> Vec<IpAddr> {
        v.iter()
            .copied()
            .filter(|a| store.address_listed("acme", *a).is_some())
            .collect()
    };
    let exact4 = visible(&set.exact4);
    let exact6 = visible(&set.exact6);
    let cidr4 = visible(&set.cidr4);
    let cidr6 = visible(&set.cidr6);
    let domains: Vec<&String> = set
        .domains
        .iter()
        .filter(|d| {
            store
                .name_listed("acme", IndicatorKind::Domain, d)
                .is_some()
        })
        .collect();
    let mut rng = Rng(0x0123_4567_89ab_cdef);
    let miss4 = misses(&store, || IpAddr::V4(Ipv4Addr::from(rng.next() as u32)));
    let mut rng = Rng(0x0fed_cba9_8765_4321);
    let miss6 = misses(&store, || IpAddr::V6(Ipv6Addr::from(rng.v6())));
    let miss_domains: Vec<String> = (0..4096)
        .map(|i| format!("www{i}.not-listed.example"))
        .collect();
    drop(set.changes);

    let mut g = c.benchmark_group("address_listed");
    for (name, keys) in [
        ("hit_exact_v4", &exact4),
        ("hit_exact_v6", &exact6),
        ("hit_cidr_v4", &cidr4),
        ("hit_cidr_v6", &cidr6),
        ("miss_v4", &miss4),
        ("miss_v6", &miss6),
    ] {
        assert!(!keys.is_empty(), "{name}: no sample");
        g.bench_function(name, |b| {
            let mut i = 0;
            b.iter(|| {
                i += 1;
                black_box(store.address_listed("acme", keys[i % keys.len()]))
            })
        });
    }
    g.finish();

    let mut g = c.benchmark_group("name_listed");
    g.bench_function("hit_domain", |b| {
        let mut i = 0;
        b.iter(|| {
            i += 1;
            black_box(store.name_listed("acme", IndicatorKind::Domain, domains[i % domains.len()]))
        })
    });
    g.bench_function("miss_domain", |b| {
        let mut i = 0;
        b.iter(|| {
            i += 1;
            black_box(store.name_listed(
                "acme",
                IndicatorKind::Domain,
                &miss_domains[i % miss_domains.len()],
            ))
        })
    });
    g.finish();
}

criterion_group!(benches, bench);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
}
