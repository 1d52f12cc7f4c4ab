//! The fuzz targets on stable Rust: every file of `fuzz/corpus/<target>/` replays through the
//! target's body (`articdbm_mywire::fuzzing`), a bounded mutation run starts from those files,
//! and the generated seed files (`gen-*`) are checked against the generator below.
//!
//! - `ARTICDBM_WRITE_CORPUS=1` rewrites the `gen-*` files (and removes stale ones) instead of
//!   checking them; other files (fuzzer finds, crash reproducers) are never touched.
//! - `ARTICDBM_FUZZ_ITERS=<n>` and `ARTICDBM_FUZZ_SEED=<n>` lengthen or vary the bounded run.

use std::collections::BTreeMap;
use std::fs;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

use articdbm_mywire::consts::caps::*;
use articdbm_mywire::consts::status::*;
use articdbm_mywire::fuzzing::TARGETS;
use articdbm_mywire::*;

use crate::util::{cat, enc, frame, frames, mariadb_greeting, mysql8_greeting};

/// Iterations of the bounded run in the normal test suite (a few seconds in a debug build).
const DEFAULT_ITERS: u64 = 50_000;
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

/// The checked-in corpus of one target, sorted by name; fails when missing or empty.
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
            src.contains(&format!("articdbm_mywire::fuzzing::{name}(data)")),
            "fuzz_targets/{name}.rs must call articdbm_mywire::fuzzing::{name}"
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

/// Bytes that sit on the boundaries the parsers check (lenenc prefixes, headers).
const INTERESTING: &[u8] = &[0, 1, 0x7f, 0x80, 0xfb, 0xfc, 0xfd, 0xfe, 0xff];

/// A corpus file with one to four mutations.
fn mutate(rng: &mut XorShift, files: &[(String, Vec<u8>)]) -> Vec<u8> {
    let mut v = files[rng.below(files.len())].1.clone();
    for _ in 0..=rng.below(4) {
        let len = v.len();
        match rng.below(7) {
            0 if len > 0 => {
                let i = rng.below(len);
                v[i] ^= 1 << rng.below(8);
            }
            1 if len > 0 => {
                let i = rng.below(len);
                v[i] = INTERESTING[rng.below(INTERESTING.len())];
            }
            2 => {
                let i = rng.below(len + 1);
                v.insert(i, rng.next() as u8);
            }
            3 if len > 0 => {
                let i = rng.below(len);
                let n = 1 + rng.below((len - i).min(16));
                v.drain(i..i + n);
            }
            4 => v.truncate(rng.below(len + 1)),
            5 if len > 0 => {
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
// The seed generator. Valid packets come from the crate's encoders; malformed ones by hand.

#[derive(Default)]
struct Seeds(BTreeMap<String, Vec<u8>>);

impl Seeds {
    fn add(&mut self, name: &str, bytes: impl AsRef<[u8]>) {
        let old = self
            .0
            .insert(format!("gen-{name}"), bytes.as_ref().to_vec());
        assert!(old.is_none(), "duplicate seed name {name}");
    }
}

const ALL_CAPS: u32 = CLIENT_PROTOCOL_41
    | CLIENT_SECURE_CONNECTION
    | CLIENT_PLUGIN_AUTH
    | CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA
    | CLIENT_CONNECT_WITH_DB
    | CLIENT_CONNECT_ATTRS
    | CLIENT_TRANSACTIONS
    | CLIENT_DEPRECATE_EOF;

fn packet_seeds() -> Seeds {
    let mut s = Seeds::default();
    s.add("one", frames(0, &[b"\x03SELECT 1"]));
    s.add("two", frames(0, &[b"\x0e", b"\x01"]));
    s.add("empty", frame(0, 0, b""));
    // Continuations: a full-length header (refused by the fuzz bound) and a small one.
    s.add("full-length", frame(0xff_ffff, 0, b"abc"));
    s.add("seq-gap", cat(&[&frame(3, 1, b"abc"), &frame(1, 5, b"x")]));
    s.add("over-bound", frame(0x01_0001, 0, b""));
    s.add("short-header", [1, 0, 0]);
    s
}

fn hello_seeds() -> Seeds {
    let mut s = Seeds::default();
    s.add("ssl", enc(|b| encode_ssl_request(b, ALL_CAPS, 1 << 24, 45)));
    let full = HandshakeResponse {
        capabilities: ALL_CAPS,
        max_packet: 1 << 24,
        charset: 255,
        user: "alice".into(),
        auth_response: vec![7; 32],
        database: Some("app".into()),
        auth_plugin: Some("caching_sha2_password".into()),
        attrs: vec![
            ("_client_name".into(), "libmysql".into()),
            ("_pid".into(), "42".into()),
        ],
    };
    s.add("full", enc(|b| full.encode(b)));
    let caps = CLIENT_PROTOCOL_41 | CLIENT_SECURE_CONNECTION;
    let plain = HandshakeResponse {
        capabilities: caps,
        user: "bob".into(),
        auth_response: vec![1; 20],
        ..full.clone()
    };
    s.add("secure", enc(|b| plain.encode(b)));
    let nul = HandshakeResponse {
        capabilities: CLIENT_PROTOCOL_41 | CLIENT_CONNECT_WITH_DB,
        auth_response: b"secret".to_vec(),
        ..full.clone()
    };
    s.add("nul-auth", enc(|b| nul.encode(b)));
    s.add("pre41", [0x85, 0xa6, 0x03, 0x00, 0x00]);
    s
}

fn command_seeds() -> Seeds {
    let mut s = Seeds::default();
    // The first byte picks capabilities (see fuzzing::caps_from).
    s.add("query", b"\x00\x03SELECT 1");
    s.add(
        "query-attrs",
        cat(&[
            &[
                0x04, 0x03, 0x01, 0x01, 0x00, 0x01, 0x0f, 0x00, 0x01, b'a', 0x01, b'x',
            ],
            b"SELECT 1",
        ]),
    );
    s.add("init-db", b"\x00\x02app");
    s.add("field-list", b"\x00\x04t1\0%");
    s.add("kill", b"\x00\x0c\x2a\x00\x00\x00");
    s.add("prepare", b"\x00\x16SELECT ?");
    s.add(
        "execute-bound",
        cat(&[
            &[
                0x00, 0x17, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0x02, 0x01, 0x03, 0x00, 0x08, 0x00,
            ],
            &[1, 0, 0, 0],
        ]),
    );
    s.add(
        "execute-unbound",
        [
            0x00, 0x17, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0x02, 0x00, 1, 0, 0, 0,
        ],
    );
    s.add("long-data", b"\x00\x18\x01\x00\x00\x00\x00\x00data");
    s.add("close", b"\x00\x19\x01\x00\x00\x00");
    s.add("fetch", b"\x00\x1c\x01\x00\x00\x00\x10\x00\x00\x00");
    s.add("set-option", b"\x00\x1b\x01\x00");
    let cu = ChangeUser {
        user: "carol".into(),
        auth_response: vec![9; 20],
        database: Some("db".into()),
        charset: Some(45),
        auth_plugin: Some("mysql_native_password".into()),
        attrs: vec![("k".into(), "v".into())],
    };
    // 0x18: CLIENT_PLUGIN_AUTH | CLIENT_CONNECT_ATTRS.
    s.add(
        "change-user",
        cat(&[&[0x18], &enc(|b| cu.encode(b, ALL_CAPS))]),
    );
    s
}

fn answer(pick: u8, payloads: &[&[u8]]) -> Vec<u8> {
    cat(&[&[pick], &frames(1, payloads)])
}

fn tracker_seeds() -> Seeds {
    let mut s = Seeds::default();
    let caps = CLIENT_PROTOCOL_41 | CLIENT_TRANSACTIONS;
    let dcaps = caps | CLIENT_DEPRECATE_EOF;
    let ok = |st: u16, h: u8, c: u32| {
        enc(|b| {
            OkPacket {
                status: st,
                ..OkPacket::default()
            }
            .encode(b, c, h)
        })
    };
    let col = enc(|b| {
        ColumnDef {
            name: "a".into(),
            column_type: 3,
            ..ColumnDef::default()
        }
        .encode(b)
    });
    let eof = |st: u16| enc(|b| encode_eof(b, 0, st));
    let row = enc(|b| encode_text_row(b, &[Some(b"1"), None]));
    let err = enc(|b| ErrPacket::new(1064, "42000", "syntax").encode(b));
    let more = SERVER_MORE_RESULTS_EXISTS | SERVER_STATUS_AUTOCOMMIT;
    s.add("query-ok", answer(0, &[&ok(2, 0, caps)]));
    s.add(
        "query-rows-eof",
        answer(0, &[b"\x01", &col, &eof(2), &row, &eof(2)]),
    );
    s.add(
        "query-rows-deprecate",
        answer(8, &[b"\x01", &col, &row, &ok(2, 0xfe, dcaps)]),
    );
    s.add(
        "query-multi",
        answer(0, &[&ok(more, 0, caps), b"\x01", &col, &eof(2), &row, &err]),
    );
    s.add(
        "query-infile",
        answer(0, &[b"\xfbdata.csv", &ok(2, 0, caps)]),
    );
    s.add(
        "execute-rows",
        answer(
            1,
            &[b"\x01", &col, &eof(2), b"\x00\x00\x01\x00\x00\x00", &eof(2)],
        ),
    );
    let prep = enc(|b| {
        PrepareOk {
            stmt_id: 1,
            num_columns: 1,
            num_params: 1,
            warnings: 0,
        }
        .encode(b)
    });
    s.add("prepare", answer(2, &[&prep, &col, &eof(2), &col, &eof(2)]));
    s.add("prepare-deprecate", answer(10, &[&prep, &col, &col]));
    s.add("simple-eof", answer(3, &[&eof(2)]));
    s.add("statistics", answer(4, &[b"Uptime: 5"]));
    s.add("field-list", answer(5, &[&col, &eof(2)]));
    s.add(
        "fetch",
        answer(6, &[b"\x00\x00\x01\x00\x00\x00", &eof(0x80)]),
    );
    s
}

fn greeting_seeds() -> Seeds {
    let mut s = Seeds::default();
    s.add("mariadb-10.11", mariadb_greeting());
    s.add("mysql-8.0", mysql8_greeting());
    s.add(
        "switch",
        enc(|b| {
            AuthSwitchRequest {
                plugin: "mysql_native_password".into(),
                data: b"0123456789abcdefghij".to_vec(),
            }
            .encode(b)
        }),
    );
    s.add(
        "pre41",
        cat(&[b"\x0a4.0.1\0", &[1, 0, 0, 0], b"abcdefgh\0", &[0x2c, 0x82]]),
    );
    s
}

fn generated() -> BTreeMap<&'static str, Seeds> {
    BTreeMap::from([
        ("client_hello", hello_seeds()),
        ("command", command_seeds()),
        ("packet_decoder", packet_seeds()),
        ("response_tracker", tracker_seeds()),
        ("server_greeting", greeting_seeds()),
    ])
}

#[test]
fn generated_seeds_are_up_to_date() {
    let write = std::env::var_os("ARTICDBM_WRITE_CORPUS").is_some();
    for (target, seeds) in generated() {
        let dir = fuzz_dir().join("corpus").join(target);
        if write {
            fs::create_dir_all(&dir).unwrap();
            for e in fs::read_dir(&dir).unwrap() {
                let p = e.unwrap().path();
                let name = p.file_name().unwrap().to_string_lossy().into_owned();
                if name.starts_with("gen-") && !seeds.0.contains_key(&name) {
                    fs::remove_file(&p).unwrap();
                }
            }
            for (name, bytes) in &seeds.0 {
                fs::write(dir.join(name), bytes).unwrap();
            }
            continue;
        }
        for (name, bytes) in &seeds.0 {
            let on_disk = fs::read(dir.join(name)).unwrap_or_else(|e| {
                panic!("corpus/{target}/{name}: {e} (run with ARTICDBM_WRITE_CORPUS=1)")
            });
            assert_eq!(
                &on_disk, bytes,
                "corpus/{target}/{name} is stale (ARTICDBM_WRITE_CORPUS=1)"
            );
        }
    }
}

/// The tracker seeds are complete, valid answers (so mutations start deep in the state
/// machine, not at its first error).
#[test]
fn tracker_seeds_are_complete_answers() {
    use articdbm_mywire::consts::caps::CLIENT_SESSION_TRACK;
    for (name, bytes) in tracker_seeds().0 {
        let pick = bytes[0];
        let expect = [
            Expect::Query,
            Expect::Execute,
            Expect::Prepare,
            Expect::Simple,
            Expect::Statistics,
            Expect::FieldList,
            Expect::Fetch,
        ][usize::from(pick & 7) % 7];
        let mut caps = CLIENT_PROTOCOL_41 | CLIENT_TRANSACTIONS;
        if pick & 0x08 != 0 {
            caps |= CLIENT_DEPRECATE_EOF;
        }
        if pick & 0x10 != 0 {
            caps |= CLIENT_SESSION_TRACK;
        }
        let mut t = ResponseTracker::new(expect, caps);
        let mut buf = bytes::BytesMut::from(&bytes[1..]);
        let mut dec = PacketDecoder::new(1 << 16);
        while let Some(p) = dec.decode(&mut buf).unwrap() {
            if t.feed(&p.payload).unwrap() == Event::LocalInfile {
                t.after_local_infile();
            }
        }
        assert!(t.done(), "{name} is not a complete answer");
    }
}
