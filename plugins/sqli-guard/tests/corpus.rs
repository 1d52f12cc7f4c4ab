//! Runs every line of `corpus/attacks.txt` and `corpus/benign.txt` through the gateway's real
//! facts extractor and the guard, prints detection per technique and dialect, the false
//! positives and the misses, and holds the guard to ≥ 95 % detection and zero false positives.

use std::collections::BTreeMap;

use articdbm_plugin_sdk::testing::{Harness, VerdictExt, connection, query_in};
use articdbm_plugin_sdk::{Protocol, ReuseBasis};
use articdbm_plugin_sqli_guard::Plugin;

struct Line {
    dialect: String,
    tag: String,
    sql: String,
}

fn load(name: &str) -> Vec<Line> {
    let path = format!("{}/corpus/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    text.lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| {
            let mut parts = l.splitn(3, '\t');
            let dialect = parts.next().unwrap().to_string();
            let tag = parts.next().unwrap().to_string();
            let raw = parts.next().unwrap_or_else(|| panic!("bad line: {l}"));
            Line {
                dialect,
                tag,
                sql: unescape(raw),
            }
        })
        .collect()
}

fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some('n') => out.push('\n'),
                Some('\\') => out.push('\\'),
                Some(o) => {
                    out.push('\\');
                    out.push(o);
                }
                None => out.push('\\'),
            }
        } else {
            out.push(c);
        }
    }
    out
}

fn protocol(d: &str) -> Protocol {
    match d {
        "mysql" => Protocol::Mysql,
        "sqlite" => Protocol::Sqlite,
        _ => Protocol::Postgres,
    }
}

fn judge(p: &Harness<Plugin>, l: &Line) -> articdbm_plugin_sdk::Verdict {
    let proto = protocol(&l.dialect);
    let conn = connection().protocol(proto).build();
    p.on_query(&conn, &query_in(&l.sql, proto))
}

/// At most 200 characters of a statement, for the report.
fn clip(s: &str) -> String {
    let one_line = s.replace('\n', "\\n");
    match one_line.char_indices().nth(200) {
        Some((i, _)) => format!("{}…", &one_line[..i]),
        None => one_line,
    }
}

#[test]
fn corpus() {
    let p = Harness::<Plugin>::new("{}").unwrap();

    let attacks = load("attacks.txt");
    assert!(attacks.len() >= 1000, "attack corpus too small");
    let mut per: BTreeMap<(String, String), (usize, usize)> = BTreeMap::new();
    let mut per_rule: BTreeMap<String, usize> = BTreeMap::new();
    let mut misses = Vec::new();
    let mut caught = 0;
    // Lines tagged with a rule id (`sqli.remote`...): detected, detected by that rule, total.
    let mut family: BTreeMap<String, (usize, usize, usize)> = BTreeMap::new();
    for l in &attacks {
        let v = judge(&p, l);
        if l.tag.starts_with("sqli.") {
            let e = family.entry(l.tag.clone()).or_default();
            e.2 += 1;
            if v.is_deny() {
                e.0 += 1;
                if v.rule() == Some(l.tag.as_str()) {
                    e.1 += 1;
                }
            }
        }
        let e = per.entry((l.tag.clone(), l.dialect.clone())).or_default();
        e.1 += 1;
        if v.is_deny() {
            caught += 1;
            e.0 += 1;
            *per_rule
                .entry(v.rule().unwrap_or("").to_string())
                .or_default() += 1;
        } else {
            misses.push(l);
        }
    }
    println!("== detection by technique / dialect");
    for ((tag, dialect), (c, n)) in &per {
        println!(
            "{tag:28} {dialect:9} {c:5}/{n:<5} {:6.2}%",
            100.0 * *c as f64 / *n as f64
        );
    }
    println!(
        "== detection by rule family (lines tagged with a rule id): denied / by that rule / total"
    );
    for (rule, (c, own, n)) in &family {
        println!("{rule:28} {c:5}/{n:<5} {own:5}/{n:<5}");
    }
    println!("== first rule that fired");
    for (rule, n) in &per_rule {
        println!("{rule:28} {n}");
    }
    let rate = caught as f64 / attacks.len() as f64;
    println!(
        "== overall detection: {caught}/{} = {:.2}%",
        attacks.len(),
        100.0 * rate
    );
    println!("== misses ({})", misses.len());
    for l in &misses {
        println!("MISS {} {}: {}", l.dialect, l.tag, clip(&l.sql));
    }

    let benign = load("benign.txt");
    assert!(benign.len() >= 500, "benign corpus too small");
    let mut fps = Vec::new();
    for l in &benign {
        let v = judge(&p, l);
        if !v.is_allow() {
            fps.push((l, v));
        }
    }
    println!(
        "== false positives: {}/{} = {:.2}%",
        fps.len(),
        benign.len(),
        100.0 * fps.len() as f64 / benign.len() as f64
    );
    let mut fp_rules: BTreeMap<&str, usize> = BTreeMap::new();
    for (_, v) in &fps {
        *fp_rules.entry(v.rule().unwrap_or("")).or_default() += 1;
    }
    for rule in articdbm_plugin_sqli_guard::RULES {
        println!(
            "   {rule:28} {} false positives",
            fp_rules.get(rule).copied().unwrap_or(0)
        );
    }
    for (l, v) in &fps {
        println!(
            "FP {} {} [{}]: {}",
            l.dialect,
            l.tag,
            v.rule().unwrap_or(""),
            clip(&l.sql)
        );
    }

    // Cost of the guard itself (token pass + rules), facts extracted beforehand as the
    // gateway's cache would. Informational: debug builds are far slower than release.
    let prepared: Vec<_> = benign
        .iter()
        .chain(attacks.iter())
        .map(|l| {
            let proto = protocol(&l.dialect);
            (
                connection().protocol(proto).build(),
                query_in(&l.sql, proto),
            )
        })
        .collect();
    let start = std::time::Instant::now();
    let rounds = 5;
    for _ in 0..rounds {
        for (c, q) in &prepared {
            std::hint::black_box(p.on_query(c, q));
        }
    }
    let per = start.elapsed().as_nanos() as f64 / (rounds * prepared.len()) as f64;
    println!("== guard cost: {per:.0} ns per statement (mean, this build profile)");

    assert!(rate >= 0.95, "detection {:.2}% is below 95%", 100.0 * rate);
    for (rule, (c, _, n)) in &family {
        assert_eq!(c, n, "{rule}: {c}/{n} of its family's attacks denied");
    }
    assert!(
        fps.is_empty(),
        "{} false positives on benign SQL",
        fps.len()
    );
}

/// The MySQL corpora (`corpus/mysql-attacks.txt`, `corpus/mysql-benign.txt`, from
/// `generate_mysql.py`), judged as statements from MySQL clients: every attack denied, detection
/// printed per rule family, zero false positives on the ORM, migration and admin traffic.
#[test]
fn mysql_corpus() {
    let p = Harness::<Plugin>::new("{}").unwrap();
    let attacks = load("mysql-attacks.txt");
    assert!(attacks.len() >= 150, "MySQL attack corpus too small");
    // Family: denied, denied by the family's own rule, total.
    let mut family: BTreeMap<String, (usize, usize, usize)> = BTreeMap::new();
    let mut per_rule: BTreeMap<String, usize> = BTreeMap::new();
    let mut misses = Vec::new();
    let mut other_rule = Vec::new();
    for l in &attacks {
        assert_eq!(l.dialect, "mysql", "{}", l.sql);
        assert!(l.tag.starts_with("sqli."), "untagged attack: {}", l.sql);
        let v = judge(&p, l);
        let e = family.entry(l.tag.clone()).or_default();
        e.2 += 1;
        if v.is_deny() {
            e.0 += 1;
            let rule = v.rule().unwrap_or("");
            *per_rule.entry(rule.to_string()).or_default() += 1;
            if rule == l.tag {
                e.1 += 1;
            } else {
                other_rule.push((l, rule.to_string()));
            }
        } else {
            misses.push(l);
        }
    }
    println!("== MySQL detection by rule family: denied / by that rule / total");
    for (rule, (c, own, n)) in &family {
        println!("{rule:28} {c:5}/{n:<5} {own:5}/{n:<5}");
    }
    println!("== MySQL: first rule that fired");
    for (rule, n) in &per_rule {
        println!("{rule:28} {n}");
    }
    let caught: usize = family.values().map(|e| e.0).sum();
    println!(
        "== MySQL overall detection: {caught}/{} = {:.2}%",
        attacks.len(),
        100.0 * caught as f64 / attacks.len() as f64
    );
    for (l, rule) in &other_rule {
        println!("OTHER {} -> {rule}: {}", l.tag, clip(&l.sql));
    }
    println!("== MySQL misses ({})", misses.len());
    for l in &misses {
        println!("MISS {}: {}", l.tag, clip(&l.sql));
    }

    let benign = load("mysql-benign.txt");
    assert!(benign.len() >= 250, "MySQL benign corpus too small");
    let mut fps = Vec::new();
    for l in &benign {
        assert_eq!(l.dialect, "mysql", "{}", l.sql);
        let v = judge(&p, l);
        if !v.is_allow() {
            fps.push((l, v));
        }
    }
    println!(
        "== MySQL false positives: {}/{} = {:.2}%",
        fps.len(),
        benign.len(),
        100.0 * fps.len() as f64 / benign.len() as f64
    );
    for (l, v) in &fps {
        println!(
            "FP {} [{}]: {}",
            l.tag,
            v.rule().unwrap_or(""),
            clip(&l.sql)
        );
    }
    assert!(misses.is_empty(), "{} MySQL attacks allowed", misses.len());
    assert!(
        fps.is_empty(),
        "{} false positives on benign MySQL SQL",
        fps.len()
    );
}

/// What a verdict says, for comparisons (verdicts have no `PartialEq`).
fn outcome(v: &articdbm_plugin_sdk::Verdict) -> (bool, bool, Option<String>) {
    (v.is_allow(), v.is_deny(), v.rule().map(str::to_string))
}

/// The guard declares a verdict reusable for its statement's fingerprint (contract 0.1.2):
/// the gateway then answers every statement of that fingerprint with it. Holds the
/// declaration to the gateway's own definition (`articdbm_facts::Fingerprint`): for every
/// corpus statement whose verdict is declared reusable and whose facts the gateway shares by
/// fingerprint, statements of the same fingerprint with other integers, decimals, strings
/// (quotes, comment markers, SQL inside them), comment texts and IN-list lengths must get the
/// same verdict.
#[test]
fn reused_verdicts_hold_across_each_fingerprint() {
    use articdbm_facts::{Dialect, variants};
    let p = Harness::<Plugin>::new("{}").unwrap();
    let (mut checked, mut declined, mut variants_judged) = (0, 0, 0);
    let all = [
        "attacks.txt",
        "benign.txt",
        "mysql-attacks.txt",
        "mysql-benign.txt",
    ];
    for l in all.iter().flat_map(|f| load(f)) {
        let proto = protocol(&l.dialect);
        let dialect = match proto {
            Protocol::Mysql => Dialect::Mysql,
            Protocol::Sqlite => Dialect::Sqlite,
            Protocol::Postgres => Dialect::Postgres,
        };
        let others = variants(&l.sql, dialect);
        if others.is_empty() {
            continue;
        }
        let q = query_in(&l.sql, proto);
        let f = &q.facts;
        // The gateway judges statements whose facts depend on values by their exact text.
        if !(f.parsed && f.constant_comparisons.is_empty()) {
            continue;
        }
        let v = judge(&p, &l);
        let Some((_, basis)) = p.reused_for() else {
            declined += 1;
            continue;
        };
        checked += 1;
        for (other, same_shape) in others {
            if basis == ReuseBasis::Shape && !same_shape {
                continue;
            }
            variants_judged += 1;
            let ov = p.on_query(
                &connection().protocol(proto).build(),
                &query_in(&other, proto),
            );
            assert_eq!(
                outcome(&ov),
                outcome(&v),
                "a reused verdict would be wrong:\n  {}\n  {}",
                clip(&l.sql),
                clip(&other)
            );
        }
    }
    println!(
        "== reuse: {checked} fingerprints checked with {variants_judged} variants, {declined} value-sensitive (not reused)"
    );
    assert!(
        checked >= 300,
        "only {checked} reusable fingerprints in the corpora"
    );
    assert!(declined >= 50, "only {declined} value-sensitive statements");
}

/// `SQLI_DUMP='<sql>' cargo test --test corpus dump -- --nocapture` prints the facts, the token
/// signals and the verdict of one statement (`SQLI_DIALECT=mysql` for MySQL).
#[test]
fn dump() {
    let Ok(sql) = std::env::var("SQLI_DUMP") else {
        return;
    };
    let dialect = std::env::var("SQLI_DIALECT").unwrap_or_else(|_| "postgres".into());
    let proto = protocol(&dialect);
    let q = query_in(&sql, proto);
    println!("{:#?}", q.facts);
    println!(
        "{:#?}",
        articdbm_plugin_sqli_guard::scan(&sql, proto == Protocol::Mysql)
    );
    let p = Harness::<Plugin>::new("{}").unwrap();
    println!(
        "{:?}",
        p.on_query(&connection().protocol(proto).build(), &q)
    );
}
