//! The fuzz targets on stable Rust: every file of `fuzz/corpus/<target>/` replays through the
//! target's body (`articdbm_pgwire::fuzzing`), a bounded mutation run starts from those files,
//! and the generated seed files (`gen-*`) are checked against the generator below.
//!
//! - `ARTICDBM_WRITE_CORPUS=1` rewrites the `gen-*` files (and removes stale ones) instead of
//!   checking them; other files in the corpus directories (fuzzer finds, crash reproducers)
//!   are never touched.
//! - `ARTICDBM_FUZZ_ITERS=<n>` and `ARTICDBM_FUZZ_SEED=<n>` lengthen or vary the bounded run.

use std::collections::BTreeMap;
use std::fs;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

use articdbm_pgwire::auth::scram::ScramVerifier;
use articdbm_pgwire::backend::TransactionStatus;
use articdbm_pgwire::backend::encode::{self as be, Column, PgError, Severity};
use articdbm_pgwire::frontend::Target;
use articdbm_pgwire::frontend::encode as fe;
use articdbm_pgwire::fuzzing::TARGETS;
use bytes::BytesMut;

use crate::util::{be16, be32, cat, frame, startup};

/// Iterations of the bounded run in the normal test suite (a few seconds in a debug build).
const DEFAULT_ITERS: u64 = 200_000;
const DEFAULT_SEED: u64 = 0x5eed_f00d_cafe_d00d;

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz")
}

fn env_u64(name: &str, default: u64) -> u64 {
    match std::env::var(name) {
        Ok(v) => v
            .parse()
            .unwrap_or_else(|_| panic!("{name}={v:?} is not a number")),
        Err(_) => default,
    }
}

/// The checked-in corpus of one target, sorted by file name. Fails when the directory is
/// missing or empty, so a corpus cannot silently vanish.
fn corpus(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = fuzz_dir().join("corpus").join(target);
    let entries = fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    let mut files: Vec<(String, Vec<u8>)> = entries
        .map(|e| {
            let path = e.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            (name, fs::read(&path).unwrap())
        })
        .collect();
    files.sort();
    assert!(!files.is_empty(), "{} is empty", dir.display());
    files
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Run one input through a target; a panic fails the test naming the input.
fn run(target: &str, f: fn(&[u8]), what: &str, input: &[u8]) {
    if catch_unwind(AssertUnwindSafe(|| f(input))).is_err() {
        panic!(
            "fuzz target {target} panicked on {what}; input ({} bytes, hex): {}",
            input.len(),
            hex(input)
        );
    }
}

#[test]
fn every_corpus_file_replays() {
    for &(target, f) in TARGETS {
        for (name, data) in corpus(target) {
            run(target, f, &format!("corpus/{target}/{name}"), &data);
        }
    }
}

#[test]
fn every_fuzz_target_runs_a_fuzzing_function() {
    let dir = fuzz_dir().join("fuzz_targets");
    let mut on_disk: Vec<String> = fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "rs"))
        .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
        .collect();
    on_disk.sort();
    let listed: Vec<&str> = TARGETS.iter().map(|(name, _)| *name).collect();
    assert_eq!(
        on_disk, listed,
        "fuzz/fuzz_targets/*.rs and fuzzing::TARGETS differ"
    );
    let manifest = fs::read_to_string(fuzz_dir().join("Cargo.toml")).unwrap();
    for name in listed {
        let src = fs::read_to_string(dir.join(format!("{name}.rs"))).unwrap();
        assert!(
            src.contains(&format!("articdbm_pgwire::fuzzing::{name}(data)")),
            "fuzz_targets/{name}.rs must call articdbm_pgwire::fuzzing::{name}"
        );
        assert!(
            manifest.contains(&format!("path = \"fuzz_targets/{name}.rs\"")),
            "fuzz/Cargo.toml has no [[bin]] for {name}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// The bounded run: mutated corpus files, fixed seed, fixed number of iterations.

struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Values that sit on the boundaries the parsers check.
const INTERESTING_I32: &[i32] = &[
    0,
    -1,
    1,
    4,
    8,
    255,
    256,
    1024,
    10_000,
    10_001,
    65_535,
    65_536,
    1 << 16 | 1,
    i32::MAX,
    i32::MIN,
];

/// A corpus file with one to four mutations: bit flips, interesting bytes and lengths,
/// insertions, deletions, truncation, duplication and splices with another file.
fn mutate(rng: &mut XorShift, files: &[(String, Vec<u8>)]) -> Vec<u8> {
    let mut v = files[rng.below(files.len())].1.clone();
    for _ in 0..=rng.below(4) {
        let len = v.len();
        match rng.below(8) {
            0 if len > 0 => {
                let i = rng.below(len);
                v[i] ^= 1 << rng.below(8);
            }
            1 if len > 0 => {
                let i = rng.below(len);
                v[i] = [0, 0xff, 0x7f, 0x80, b',', b'=', b'!'][rng.below(7)];
            }
            2 if len >= 4 => {
                let i = rng.below(len - 3);
                let n = INTERESTING_I32[rng.below(INTERESTING_I32.len())];
                v[i..i + 4].copy_from_slice(&n.to_be_bytes());
            }
            3 => {
                let i = rng.below(len + 1);
                v.insert(i, rng.next() as u8);
            }
            4 if len > 0 => {
                let i = rng.below(len);
                let n = 1 + rng.below((len - i).min(16));
                v.drain(i..i + n);
            }
            5 => v.truncate(rng.below(len + 1)),
            6 if len > 0 => {
                let i = rng.below(len);
                let n = 1 + rng.below((len - i).min(32));
                let chunk = v[i..i + n].to_vec();
                let at = rng.below(len + 1);
                v.splice(at..at, chunk);
            }
            _ => {
                let other = &files[rng.below(files.len())].1;
                let keep = rng.below(len + 1);
                let from = rng.below(other.len() + 1);
                v.truncate(keep);
                v.extend_from_slice(&other[from..]);
            }
        }
    }
    v
}

#[test]
fn bounded_fuzz_run_over_mutated_corpus() {
    let iters = env_u64("ARTICDBM_FUZZ_ITERS", DEFAULT_ITERS);
    let mut rng = XorShift(env_u64("ARTICDBM_FUZZ_SEED", DEFAULT_SEED).max(1));
    let corpora: Vec<_> = TARGETS
        .iter()
        .map(|&(target, f)| (target, f, corpus(target)))
        .collect();
    for i in 0..iters {
        let (target, f, files) = &corpora[i as usize % corpora.len()];
        let input = mutate(&mut rng, files);
        run(target, *f, &format!("mutation {i}"), &input);
    }
}

// ---------------------------------------------------------------------------------------------
// The seed generator. Valid messages come from the crate's own encoders; malformed ones are
// built by hand. Names start with `gen-` so hand-added files can live beside them.

#[derive(Default)]
struct Seeds(BTreeMap<String, Vec<u8>>);

impl Seeds {
    fn add(&mut self, name: &str, bytes: impl AsRef<[u8]>) {
        let old = self
            .0
            .insert(format!("gen-{name}"), bytes.as_ref().to_vec());
        assert!(old.is_none(), "duplicate seed name {name}");
    }

    /// The message, and the same bytes cut after the tag, inside and after the header, in the
    /// middle of the body and one byte short.
    fn add_cut(&mut self, name: &str, bytes: impl AsRef<[u8]>, header: usize) {
        let b = bytes.as_ref();
        self.add(name, b);
        let mut cuts = vec![
            1,
            header - 1,
            header,
            header + (b.len() - header) / 2,
            b.len() - 1,
        ];
        cuts.sort_unstable();
        cuts.dedup();
        for cut in cuts.into_iter().filter(|&c| c > 0 && c < b.len()) {
            self.add(&format!("{name}.cut{cut}"), &b[..cut]);
        }
    }
}

fn enc(f: impl FnOnce(&mut BytesMut)) -> Vec<u8> {
    let mut b = BytesMut::new();
    f(&mut b);
    b.to_vec()
}

/// A typed header with an arbitrary declared length, and `body` after it.
fn raw_typed(tag: u8, len: i32, body: &[u8]) -> Vec<u8> {
    cat(&[&[tag], &be32(len), body])
}

fn frontend_seeds() -> Seeds {
    let mut s = Seeds::default();
    let query = enc(|b| fe::query(b, "SELECT 1").unwrap());
    let parse = enc(|b| fe::parse(b, "s1", "SELECT $1::int, $2", &[23, 25]).unwrap());
    let bind = enc(|b| {
        let params = [Some(&b"42"[..]), None];
        fe::bind(b, "p1", "s1", &[0, 1], params, &[1]).unwrap();
    });
    s.add_cut("query", &query, 5);
    s.add_cut("parse", &parse, 5);
    s.add_cut("bind", &bind, 5);
    s.add(
        "describe-statement",
        enc(|b| fe::describe(b, Target::Statement, "s1").unwrap()),
    );
    s.add(
        "describe-portal",
        enc(|b| fe::describe(b, Target::Portal, "").unwrap()),
    );
    s.add("execute", enc(|b| fe::execute(b, "p1", 100).unwrap()));
    s.add(
        "close-statement",
        enc(|b| fe::close(b, Target::Statement, "s1").unwrap()),
    );
    s.add(
        "close-portal",
        enc(|b| fe::close(b, Target::Portal, "p1").unwrap()),
    );
    s.add("sync", enc(fe::sync));
    s.add("flush", enc(fe::flush));
    s.add("terminate", enc(fe::terminate));
    s.add("copy-data", enc(|b| fe::copy_data(b, b"1\tfoo\n").unwrap()));
    s.add("copy-done", enc(fe::copy_done));
    s.add(
        "copy-fail",
        enc(|b| fe::copy_fail(b, "client gave up").unwrap()),
    );
    s.add(
        "password",
        enc(|b| fe::password_message(b, b"hunter2").unwrap()),
    );
    s.add(
        "sasl-initial",
        enc(|b| fe::sasl_initial_response(b, "SCRAM-SHA-256", b"n,,n=,r=abcdef").unwrap()),
    );
    s.add(
        "sasl-response",
        enc(|b| fe::sasl_response(b, b"c=biws,r=abc,p=AA==").unwrap()),
    );
    // No encoder for FunctionCall (the gateway never sends one): oid 1598, one text argument.
    let call = cat(&[
        &be32(1598),
        &be16(1),
        &be16(0),
        &be16(1),
        &be32(1),
        b"7",
        &be16(0),
    ]);
    s.add("function-call", frame(b'F', &call));
    // An extended-query batch longer than its first byte ('P' = 80), so the target's two-read
    // split lands inside it.
    let mut batch = parse.clone();
    batch.extend_from_slice(&bind);
    batch.extend(enc(|b| fe::describe(b, Target::Portal, "p1").unwrap()));
    batch.extend(enc(|b| fe::execute(b, "p1", 0).unwrap()));
    batch.extend(enc(fe::sync));
    s.add("batch", &batch);
    s.add("batch-then-garbage", cat(&[&batch, b"\0\0\0\0\0"]));
    // Lengths: below the minimum, negative, just over the fuzz limit (64 KiB), maximal, and a
    // declared length that disagrees with the body.
    for (name, len) in [
        ("len0", 0),
        ("len3", 3),
        ("len-neg", -1),
        ("len-max", i32::MAX),
    ] {
        s.add(
            &format!("query-{name}"),
            raw_typed(b'Q', len, b"SELECT 1\0"),
        );
    }
    s.add("copy-data-over-limit", raw_typed(b'd', (1 << 16) + 5, b"x"));
    s.add("password-over-auth-limit", raw_typed(b'p', 70_000, b"x"));
    s.add("sync-over-small-limit", raw_typed(b'S', 20_000, b""));
    s.add("query-len-short", raw_typed(b'Q', 6, b"SELECT 1\0"));
    s.add("query-len-long", raw_typed(b'Q', 40, b"SELECT 1\0"));
    // Unknown tags.
    s.add("tag-nul", frame(0, b"x"));
    s.add("tag-ff", frame(0xff, b""));
    s.add("tag-backend-z", frame(b'Z', b"I"));
    // Bodies that lie about their contents.
    s.add("query-no-nul", frame(b'Q', b"SELECT 1"));
    s.add("sync-with-body", frame(b'S', b"x"));
    s.add("describe-bad-target", frame(b'D', b"Xs1\0"));
    s.add("execute-short", frame(b'E', b"p1\0\0\0"));
    s.add(
        "parse-neg-count",
        frame(b'P', &cat(&[b"s\0SELECT 1\0", &be16(-1)])),
    );
    s.add(
        "parse-count-over",
        frame(b'P', &cat(&[b"s\0SELECT 1\0", &be16(1000), &be32(23)])),
    );
    let bind_over = cat(&[b"p\0s\0", &be16(0), &be16(1000), &be32(2), b"42", &be16(0)]);
    s.add("bind-param-count-over", frame(b'B', &bind_over));
    let bind_neg = cat(&[b"p\0s\0", &be16(0), &be16(1), &be32(-2), &be16(0)]);
    s.add("bind-param-len-neg", frame(b'B', &bind_neg));
    let bind_big = cat(&[
        b"p\0s\0",
        &be16(0),
        &be16(1),
        &be32(i32::MAX),
        b"42",
        &be16(0),
    ]);
    s.add("bind-param-len-huge", frame(b'B', &bind_big));
    let bind_fmt = cat(&[b"p\0s\0", &be16(3), &be16(0), &be16(1), &be16(0), &be16(0)]);
    s.add("bind-format-count-mismatch", frame(b'B', &bind_fmt));
    s.add(
        "sasl-initial-len-over",
        frame(b'p', &cat(&[b"SCRAM-SHA-256\0", &be32(500), b"n,,"])),
    );
    s.add("sasl-initial-no-mech-nul", frame(b'p', b"SCRAM-SHA-256"));
    s.add(
        "function-call-arg-over",
        frame(b'F', &cat(&[&be32(1), &be16(0), &be16(9)])),
    );
    s
}

fn backend_seeds() -> Seeds {
    let mut s = Seeds::default();
    let error = PgError::new(Severity::Error, "42501", "permission denied for table t")
        .detail("policy p1")
        .hint("ask the owner")
        .position(8)
        .routine("aclcheck_error");
    let rows = enc(|b| {
        let cols = [
            Column::text("id"),
            Column {
                name: "n",
                type_oid: 23,
                type_size: 4,
            },
        ];
        be::row_description(b, &cols).unwrap();
        be::data_row(b, [Some(&b"1"[..]), None]).unwrap();
        be::data_row(b, [Some(&b""[..]), Some(&b"42"[..])]).unwrap();
        be::command_complete(b, "SELECT 2").unwrap();
        be::ready_for_query(b, TransactionStatus::Idle);
    });
    let login = enc(|b| {
        be::authentication_ok(b);
        be::parameter_status(b, "server_version", "17.2").unwrap();
        be::parameter_status(b, "client_encoding", "UTF8").unwrap();
        be::backend_key_data(b, 4242, &[1, 2, 3, 4]).unwrap();
        be::ready_for_query(b, TransactionStatus::Idle);
    });
    let error_msg = enc(|b| be::error_response(b, &error));
    s.add_cut("error", &error_msg, 5);
    s.add_cut(
        "row-description",
        enc(|b| be::row_description(b, &[Column::text("a")]).unwrap()),
        5,
    );
    s.add_cut(
        "data-row",
        enc(|b| be::data_row(b, [Some(&b"abc"[..]), None]).unwrap()),
        5,
    );
    s.add("rows", &rows);
    s.add("login", &login);
    s.add(
        "notice",
        enc(|b| be::notice_response(b, &PgError::new(Severity::Warning, "01000", "careful"))),
    );
    s.add("auth-ok", enc(be::authentication_ok));
    s.add("auth-cleartext", enc(be::authentication_cleartext_password));
    s.add(
        "auth-md5",
        enc(|b| be::authentication_md5_password(b, [1, 2, 3, 4])),
    );
    s.add(
        "auth-sasl",
        enc(|b| be::authentication_sasl(b, &["SCRAM-SHA-256"]).unwrap()),
    );
    s.add(
        "auth-sasl-continue",
        enc(|b| be::authentication_sasl_continue(b, b"r=abc,s=QQ==,i=4096")),
    );
    s.add(
        "auth-sasl-final",
        enc(|b| be::authentication_sasl_final(b, b"v=AAAA")),
    );
    s.add(
        "backend-key-32",
        enc(|b| be::backend_key_data(b, 7, &[9; 32]).unwrap()),
    );
    s.add(
        "ready-in-tx",
        enc(|b| be::ready_for_query(b, TransactionStatus::InTransaction)),
    );
    s.add(
        "ready-failed",
        enc(|b| be::ready_for_query(b, TransactionStatus::Failed)),
    );
    s.add(
        "row-description-formats",
        enc(|b| {
            be::row_description_with_formats(b, &[Column::text("a"), Column::text("b")], &[1])
                .unwrap()
        }),
    );
    s.add(
        "extended-answers",
        enc(|b| {
            be::parse_complete(b);
            be::parameter_description(b, &[23, 25]).unwrap();
            be::no_data(b);
            be::bind_complete(b);
            be::portal_suspended(b);
            be::close_complete(b);
            be::empty_query_response(b);
        }),
    );
    s.add(
        "copy",
        enc(|b| {
            be::copy_in_response(b, 0, &[0, 0]).unwrap();
            be::copy_out_response(b, 1, &[1]).unwrap();
            be::copy_data(b, b"1\tfoo\n").unwrap();
            be::copy_done(b);
        }),
    );
    s.add(
        "negotiate",
        enc(|b| be::negotiate_protocol_version(b, 0, &["_pq_.x"]).unwrap()),
    );
    s.add(
        "notification",
        enc(|b| be::notification_response(b, 9, "chan", "payload").unwrap()),
    );
    // Lengths and tags.
    s.add("len-max", raw_typed(b'D', i32::MAX, b""));
    s.add("len-neg", raw_typed(b'Z', -1, b"I"));
    s.add("len3", raw_typed(b'C', 3, b""));
    s.add("len-over-limit", raw_typed(b'D', (1 << 16) + 5, b""));
    s.add("len-short", raw_typed(b'Z', 4, b"I"));
    s.add("tag-nul", frame(0, b""));
    s.add("tag-frontend-q", frame(b'Q', b"SELECT 1\0"));
    // Bodies that lie about their contents.
    s.add("ready-bad-status", frame(b'Z', b"X"));
    s.add("auth-unknown-code", frame(b'R', &be32(99)));
    s.add("auth-empty", frame(b'R', b""));
    s.add(
        "auth-sasl-no-terminator",
        frame(b'R', &cat(&[&be32(10), b"SCRAM-SHA-256\0"])),
    );
    s.add(
        "error-no-terminator",
        frame(b'E', b"SERROR\0C42501\0Mno end"),
    );
    s.add("error-position-bad", frame(b'E', b"SERROR\0Pabc\0\0"));
    s.add(
        "row-description-count-over",
        frame(b'T', &cat(&[&be16(1000), b"a\0"])),
    );
    s.add("row-description-count-neg", frame(b'T', &be16(-1)));
    s.add(
        "data-row-value-over",
        frame(b'D', &cat(&[&be16(1), &be32(100), b"abc"])),
    );
    s.add(
        "data-row-value-neg",
        frame(b'D', &cat(&[&be16(1), &be32(-2)])),
    );
    s.add(
        "parameter-status-one-string",
        frame(b'S', b"server_version\0"),
    );
    s.add("backend-key-short", frame(b'K', &be32(1)));
    s.add(
        "negotiate-count-over",
        frame(b'v', &cat(&[&be32(0), &be32(1000), b"x\0"])),
    );
    s.add(
        "copy-response-count-over",
        frame(b'G', &cat(&[&[0], &be16(50), &be16(0)])),
    );
    s
}

fn startup_seeds() -> Seeds {
    let mut s = Seeds::default();
    let v3 = |body: &[u8]| startup(&cat(&[&be32(196_608), body]));
    let basic = enc(|b| fe::startup_message(b, [("user", "alice"), ("database", "app")]).unwrap());
    s.add_cut("startup", &basic, 8);
    s.add(
        "startup-all-params",
        enc(|b| {
            let params = [
                ("user", "alice"),
                ("database", "app"),
                ("application_name", "psql"),
                ("options", "-c search_path=x"),
                ("replication", "database"),
                ("client_encoding", "UTF8"),
            ];
            fe::startup_message(b, params).unwrap();
        }),
    );
    s.add(
        "startup-user-only",
        enc(|b| fe::startup_message(b, [("user", "u")]).unwrap()),
    );
    s.add("ssl-request", enc(fe::ssl_request));
    s.add("gssenc-request", enc(fe::gssenc_request));
    s.add_cut(
        "cancel",
        enc(|b| fe::cancel_request(b, 4242, &[1, 2, 3, 4]).unwrap()),
        8,
    );
    s.add(
        "cancel-key-32",
        enc(|b| fe::cancel_request(b, 1, &[7; 32]).unwrap()),
    );
    s.add(
        "cancel-key-256",
        enc(|b| fe::cancel_request(b, 1, &[7; 256]).unwrap()),
    );
    s.add("ssl-then-startup", cat(&[&enc(fe::ssl_request), &basic]));
    s.add(
        "gssenc-then-ssl-then-startup",
        cat(&[&enc(fe::gssenc_request), &enc(fe::ssl_request), &basic]),
    );
    // Protocol versions: 3.2 with a protocol option, 2.0, an unknown request code.
    let v32 = cat(&[&be32(196_610), b"user\0a\0_pq_.opt\0on\0\0"]);
    s.add("startup-v3.2-option", startup(&v32));
    s.add(
        "startup-v2",
        startup(&cat(&[&be32(131_072), b"user\0a\0\0"])),
    );
    s.add("unknown-code", startup(&be32(80_877_199)));
    // Lengths: below the minimum, negative, odd, just over the 10,000-byte limit, maximal,
    // longer than the bytes present, shorter than the parameters.
    for (name, len) in [
        ("len0", 0),
        ("len7", 7),
        ("len-neg", -1),
        ("len-10001", 10_001),
        ("len-max", i32::MAX),
        ("len-min", i32::MIN),
    ] {
        s.add(
            &format!("startup-{name}"),
            cat(&[&be32(len), &be32(196_608), b"user\0a\0\0"]),
        );
    }
    s.add(
        "startup-len-short",
        cat(&[&be32(12), &be32(196_608), b"user\0a\0\0"]),
    );
    s.add(
        "ssl-request-len-9",
        cat(&[&be32(9), &be32(80_877_103), &[0]]),
    );
    s.add(
        "cancel-key-short",
        startup(&cat(&[&be32(80_877_102), &be32(1), &[1, 2]])),
    );
    s.add(
        "cancel-key-257",
        startup(&cat(&[&be32(80_877_102), &be32(1), &[7; 257]])),
    );
    s.add(
        "startup-at-limit",
        v3(&cat(&[b"user\0a\0x\0", &vec![b'y'; 10_000 - 19], b"\0\0"])),
    );
    // Parameters that break the rules.
    s.add("startup-no-user", v3(b"database\0app\0\0"));
    s.add("startup-empty-user", v3(b"user\0\0\0"));
    s.add("startup-duplicate", v3(b"user\0a\0user\0b\0\0"));
    s.add("startup-no-final-nul", v3(b"user\0a\0"));
    s.add("startup-name-no-value", v3(b"user\0a\0database\0"));
    s.add("startup-trailing", v3(b"user\0a\0\0extra"));
    s.add("startup-empty-name", v3(b"user\0a\0\0b\0\0"));
    s.add("startup-not-utf8", v3(b"user\0\xff\xfe\0\0"));
    s
}

/// A 32-byte proof or signature of zeros in base64: well-formed, never correct.
const ZERO_32_B64: &str = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";

fn scram_server_seeds() -> Seeds {
    let mut s = Seeds::default();
    let pair = |first: &str, fin: &str| cat(&[first.as_bytes(), &[0xff], fin.as_bytes()]);
    let first = "n,,n=,r=rOprNGfwEbeRWgbNEkqO";
    let fin = format!("c=biws,r=NONCE,p={ZERO_32_B64}");
    s.add("exchange", pair(first, &fin));
    s.add(
        "exchange-y",
        pair("y,,n=,r=abc", &format!("c=eSws,r=NONCE,p={ZERO_32_B64}")),
    );
    s.add("exchange-user", pair("n,,n=alice,r=abc", &fin));
    s.add(
        "exchange-extension",
        pair(first, &format!("c=biws,r=NONCE,x=1,p={ZERO_32_B64}")),
    );
    s.add("first-only", first);
    s.add("empty-first", pair("", &fin));
    // client-first that must be refused.
    s.add(
        "first-channel-binding",
        pair("p=tls-server-end-point,,n=,r=abc", &fin),
    );
    s.add("first-authzid", pair("n,a=admin,n=,r=abc", &fin));
    s.add("first-mandatory-ext", pair("n,,m=ext,n=,r=abc", &fin));
    s.add("first-bad-gs2", pair("x,,n=,r=abc", &fin));
    s.add("first-no-nonce", pair("n,,n=", &fin));
    s.add("first-empty-nonce", pair("n,,n=,r=", &fin));
    s.add("first-nonce-comma", pair("n,,n=,r=a,b", &fin));
    s.add("first-nonce-ctrl", pair("n,,n=,r=a\u{1}b", &fin));
    s.add(
        "first-nonce-256",
        pair(&format!("n,,n=,r={}", "a".repeat(256)), &fin),
    );
    s.add(
        "first-1025",
        pair(&format!("n,,n=,r=abc,x={}", "y".repeat(1013)), &fin),
    );
    s.add("first-no-n", pair("n,,r=abc", &fin));
    s.add(
        "first-not-utf8",
        cat(&[b"n,,n=\xfe,r=abc", &[0xff], fin.as_bytes()]),
    );
    // client-final that must be refused.
    s.add("final-no-proof", pair(first, "c=biws,r=NONCE"));
    s.add("final-proof-not-b64", pair(first, "c=biws,r=NONCE,p=!!!!"));
    s.add("final-proof-short", pair(first, "c=biws,r=NONCE,p=AAAA"));
    s.add(
        "final-cbind-mismatch",
        pair(first, &format!("c=eSws,r=NONCE,p={ZERO_32_B64}")),
    );
    s.add(
        "final-cbind-not-b64",
        pair(first, &format!("c=???,r=NONCE,p={ZERO_32_B64}")),
    );
    s.add(
        "final-wrong-nonce",
        pair(first, &format!("c=biws,r=other,p={ZERO_32_B64}")),
    );
    s.add(
        "final-nonce-prefix-only",
        pair(
            first,
            &format!("c=biws,r=rOprNGfwEbeRWgbNEkqO,p={ZERO_32_B64}"),
        ),
    );
    s.add(
        "final-no-cbind",
        pair(first, &format!("r=NONCE,p={ZERO_32_B64}")),
    );
    s.add(
        "final-proof-not-last",
        pair(first, &format!("c=biws,p={ZERO_32_B64},r=NONCE")),
    );
    s.add(
        "final-trailing",
        pair(first, &format!("c=biws,r=NONCE,p={ZERO_32_B64},")),
    );
    s.add(
        "final-1025",
        pair(
            first,
            &format!("c=biws,r=NONCE,x={},p={ZERO_32_B64}", "y".repeat(1000)),
        ),
    );
    // Stored verifiers (the target also runs ScramVerifier::parse on the whole input).
    let verifier = ScramVerifier::from_password(b"pw", b"fuzz-salt", 4096).to_string();
    s.add("verifier", &verifier);
    s.add("verifier-no-prefix", verifier.replace("SCRAM-SHA-256$", ""));
    s.add("verifier-iter0", verifier.replace("$4096:", "$0:"));
    s.add(
        "verifier-iter-huge",
        verifier.replace("$4096:", "$99999999999:"),
    );
    s.add("verifier-iter-sign", verifier.replace("$4096:", "$+4096:"));
    s.add(
        "verifier-salt-not-b64",
        verifier.replace("$4096:", "$4096:!!"),
    );
    s.add("verifier-no-keys", "SCRAM-SHA-256$4096:c2FsdA==");
    s.add(
        "verifier-key-short",
        "SCRAM-SHA-256$4096:c2FsdA==$AAAA:AAAA",
    );
    s
}

fn scram_client_seeds() -> Seeds {
    let mut s = Seeds::default();
    let pair = |first: &str, fin: &str| cat(&[first.as_bytes(), &[0xff], fin.as_bytes()]);
    let first = "!srv,s=c2FsdA==,i=16";
    let fin = format!("v={ZERO_32_B64}");
    s.add("exchange", pair(first, &fin));
    s.add("exchange-server-error", pair(first, "e=invalid-proof"));
    s.add("exchange-extension", pair("!srv,s=c2FsdA==,i=4,x=1", &fin));
    s.add("first-only", first);
    // server-first that must be refused.
    s.add(
        "first-foreign-nonce",
        pair("r=notours,s=c2FsdA==,i=16", &fin),
    );
    s.add("first-same-nonce", pair("!,s=c2FsdA==,i=16", &fin));
    s.add(
        "first-nonce-256",
        pair(&format!("!{},s=c2FsdA==,i=16", "a".repeat(256)), &fin),
    );
    s.add("first-iter0", pair("!srv,s=c2FsdA==,i=0", &fin));
    s.add("first-iter-over-cap", pair("!srv,s=c2FsdA==,i=17", &fin));
    s.add(
        "first-iter-huge",
        pair("!srv,s=c2FsdA==,i=4294967296", &fin),
    );
    s.add("first-iter-neg", pair("!srv,s=c2FsdA==,i=-1", &fin));
    s.add("first-iter-text", pair("!srv,s=c2FsdA==,i=abc", &fin));
    s.add("first-no-iter", pair("!srv,s=c2FsdA==", &fin));
    s.add("first-no-salt", pair("!srv,i=16", &fin));
    s.add("first-empty-salt", pair("!srv,s=,i=16", &fin));
    s.add("first-salt-not-b64", pair("!srv,s=!!!,i=16", &fin));
    s.add(
        "first-mandatory-ext",
        pair("m=ext,!srv,s=c2FsdA==,i=16", &fin),
    );
    s.add("first-order", pair("s=c2FsdA==,!srv,i=16", &fin));
    s.add(
        "first-1025",
        pair(
            &format!("!srv,s=c2FsdA==,i=16,x={}", "y".repeat(1000)),
            &fin,
        ),
    );
    s.add("first-empty", pair("", &fin));
    s.add(
        "first-not-utf8",
        cat(&[b"!srv\xfe,s=c2FsdA==,i=1", &[0xff], fin.as_bytes()]),
    );
    // server-final that must be refused.
    s.add("final-empty", pair(first, ""));
    s.add("final-not-b64", pair(first, "v=!!!"));
    s.add("final-short", pair(first, "v=AAAA"));
    s.add(
        "final-error-long",
        pair(first, &format!("e={}", "x".repeat(1100))),
    );
    s.add("final-unknown-attr", pair(first, "x=1"));
    s.add(
        "final-trailing",
        pair(first, &format!("v={ZERO_32_B64},x=1")),
    );
    s
}

fn seeds(target: &str) -> Seeds {
    match target {
        "backend_decoder" => backend_seeds(),
        "frontend_decoder" => frontend_seeds(),
        "scram_client" => scram_client_seeds(),
        "scram_server" => scram_server_seeds(),
        "startup_packet" => startup_seeds(),
        other => panic!("no seed generator for fuzz target {other}"),
    }
}

#[test]
fn generated_seeds_are_checked_in() {
    let write = std::env::var("ARTICDBM_WRITE_CORPUS").is_ok_and(|v| v == "1");
    let mut problems = Vec::new();
    for &(target, _) in TARGETS {
        let want = seeds(target).0;
        let dir = fuzz_dir().join("corpus").join(target);
        if write {
            fs::create_dir_all(&dir).unwrap();
        }
        let mut have = BTreeMap::new();
        for entry in fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            if name.starts_with("gen-") {
                have.insert(name, fs::read(&path).unwrap());
            }
        }
        for name in have.keys().filter(|n| !want.contains_key(*n)) {
            if write {
                fs::remove_file(dir.join(name)).unwrap();
            } else {
                problems.push(format!("{target}/{name} is not generated any more"));
            }
        }
        for (name, bytes) in &want {
            if have.get(name) != Some(bytes) {
                if write {
                    fs::write(dir.join(name), bytes).unwrap();
                } else {
                    problems.push(format!("{target}/{name} is missing or differs"));
                }
            }
        }
    }
    assert!(
        problems.is_empty(),
        "the checked-in seed corpus differs from the generator in tests/it/fuzz_corpus.rs:\n  {}\n\
         regenerate with: ARTICDBM_WRITE_CORPUS=1 cargo test -p articdbm-pgwire --test it generated_seeds",
        problems.join("\n  ")
    );
}
