//! Threat intelligence with real parts: a TAXII 2.1 server (medallion) serving a collection the
//! manager ingests, a managed gateway refusing a listed client until the indicator is revoked,
//! bypass rules, query-literal matching, audit with provenance; URL, OpenIOC and MISP-feed
//! fetches from a real HTTP server; hostile documents contained by the parser sandbox.

mod gw_support;
mod mgr_support;

use std::path::Path;
use std::time::Duration;

use articdbm_manager::Manager;
use articdbm_tests::taxii::{COLLECTION_TITLE, PASSWORD, USER};
use articdbm_tests::{FileServer, PgServer, TaxiiServer};
use gw_support::*;
use mgr_support::*;
use reqwest::StatusCode;
use serde_json::{Value, json};

const LISTED_ID: &str = "indicator--a932fcc6-e032-476c-826f-cb970a5a1ade";
const DOMAIN_ID: &str = "indicator--0d0a3c3d-8d1c-4b0e-9f1e-52a2ba0a9e50";

fn stix_indicator(id: &str, pattern: &str, modified: &str, extra: Value) -> Value {
    let mut v = json!({
        "type": "indicator", "spec_version": "2.1", "id": id,
        "created": "2024-01-01T00:00:00.000Z", "modified": modified,
        "pattern": pattern, "pattern_type": "stix", "valid_from": "2024-01-01T00:00:00Z",
    });
    if let (Some(o), Some(e)) = (v.as_object_mut(), extra.as_object()) {
        o.extend(e.clone());
    }
    v
}

/// Connects as the app user; Ok(()) or the error in one line.
async fn try_connect(gw: &articdbm_gateway::pg::Gateway) -> Result<(), String> {
    match connect(gw, "shop").await {
        Ok(c) => simple_value(&c, "SELECT 1")
            .await
            .map(|_| ())
            .map_err(|e| describe(&e)),
        Err(e) => Err(describe(&e)),
    }
}

async fn shop_tenant(api: &Api, pg_port: u16) {
    create_shop_tenant(api, pg_port, 2).await;
    let pack = "version = 1\nname = \"shop-threat\"\nkind = \"tenant\"\ntenant = \"shop\"\n\n\
                [[binding]]\nid = \"threat-literals\"\nplugin = \"threat-match\"\nhooks = [\"query\"]\n\
                [binding.config]\nmin_confidence = 50\n";
    let (s, v) = api
        .raw(
            "PUT",
            "/api/v1/packs/shop-threat",
            ADMIN,
            "application/toml",
            pack.into(),
        )
        .await;
    assert!(s.is_success(), "{s} {v}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn taxii_feed_blocks_a_listed_client_until_the_indicator_is_revoked() {
    let (pg, taxii) = tokio::task::spawn_blocking(|| {
        let pg = PgServer::start().unwrap();
        create_shop(&pg);
        (pg, TaxiiServer::start().unwrap())
    })
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let m = Manager::start(opts(&dir.path().join("manager"), None, None))
        .await
        .unwrap();
    let api = Api::new(m.addr);
    shop_tenant(&api, pg.port()).await;
    let feed = api
        .ok(
            "post",
            "/api/v1/feeds",
            Some(&json!({
                "name": "blocklist", "tenant": "shop", "format": "stix", "interval": "manual",
                "default_confidence": 80,
                "taxii": {"url": taxii.discovery(), "collection": COLLECTION_TITLE,
                          "auth": {"username": USER, "password": PASSWORD}},
            })),
        )
        .await;
    // The password is never shown back.
    assert_eq!(feed["taxii"]["auth"]["password"], "********", "{feed}");
    assert!(!feed.to_string().contains(PASSWORD));

    let config = gateway_config(dir.path());
    let state = dir.path().join("state");
    let (gw, managed) = managed_gateway(&config, &state, m.addr).await;
    try_connect(&gw).await.expect("an unlisted client connects");

    // The collection lists this client's address (and a domain); the manager ingests it.
    taxii
        .add(&[
            stix_indicator(
                LISTED_ID,
                "[ipv4-addr:value = '127.0.0.1']",
                "2024-01-01T00:00:00.000Z",
                json!({"confidence": 90, "labels": ["test-listing"]}),
            ),
            stix_indicator(
                DOMAIN_ID,
                "[domain-name:value = 'evil.example'] OR [file:hashes.'SHA-256' = 'aa']",
                "2024-01-01T00:00:00.000Z",
                json!({}),
            ),
        ])
        .unwrap();
    let r = api.ok("post", "/api/v1/feeds/blocklist/fetch", None).await;
    assert_eq!(r["report"]["added"], 2, "{r}");
    assert_eq!(r["report"]["unsupported"]["file:hashes"], 1, "{r}");
    let refused = poll(
        "the gateway refuses the listed client",
        Duration::from_secs(15),
        || async {
            match try_connect(&gw).await {
                Err(e) if e.contains("threat.address") => Ok(e),
                other => Err(format!("{other:?}")),
            }
        },
    )
    .await;
    assert!(
        refused.contains(LISTED_ID),
        "provenance in the refusal: {refused}"
    );
    assert!(managed.indicator_seq() > 0);
    // Counted in the gateway's metrics.
    let text = http_get(&gw, "/metrics").await;
    assert_eq!(
        metric(&text, "articdbm_threat_indicators"),
        Some(2.0),
        "{text}"
    );
    let blocks: f64 = text
        .lines()
        .filter(|l| {
            l.starts_with("articdbm_plugin_counter_total{")
                && l.contains("plugin=\"threat-match\"")
                && l.contains("name=\"blocks.address\"")
        })
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum();
    assert!(blocks >= 1.0, "{text}");

    // Provenance in the API: feed, source id, confidence, first and last seen.
    let v = api
        .ok("get", "/api/v1/indicators?feed=shop/blocklist", None)
        .await;
    let items = v["items"].as_array().unwrap();
    assert_eq!(items.len(), 2, "{v}");
    let addr = items.iter().find(|i| i["kind"] == "address").unwrap();
    assert_eq!(addr["value"], "127.0.0.1");
    assert_eq!(addr["id"], LISTED_ID);
    assert_eq!(addr["confidence"], 90);
    assert!(addr["first_seen"].as_i64().unwrap() > 0);
    let dom = items.iter().find(|i| i["kind"] == "domain").unwrap();
    assert_eq!(dom["confidence"], 80, "the feed's default confidence");
    // Feed health.
    let f = api.ok("get", "/api/v1/feeds/blocklist", None).await;
    assert_eq!(f["status"]["indicators"], 2, "{f}");
    assert!(f["status"]["last_success"].as_i64().is_some(), "{f}");
    assert!(f["status"]["last_error"].is_null(), "{f}");
    let metrics = reqwest::get(format!("http://{}/metrics", m.addr))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("articdbm_manager_feed_indicators{feed=\"shop/blocklist\"} 2"),
        "{metrics}"
    );
    // The refusal is audited with the indicator's provenance.
    let audited = poll(
        "the refusal is audited",
        Duration::from_secs(15),
        || async {
            let (_, v) = api
                .call(
                    "get",
                    "/api/v1/audit?tenant=shop&verdict=deny",
                    Some(ADMIN),
                    None,
                )
                .await;
            if v.to_string().contains(LISTED_ID) {
                Ok(v)
            } else {
                Err(v.to_string())
            }
        },
    )
    .await;
    assert!(audited.to_string().contains("threat.address"), "{audited}");

    // A bypass rule for the address admits the client; query literals are still checked.
    api.ok(
        "put",
        "/api/v1/tenants/shop/threat-bypass",
        Some(&json!({"addresses": ["127.0.0.0/8"]})),
    )
    .await;
    poll(
        "the bypass admits the client",
        Duration::from_secs(15),
        || async { try_connect(&gw).await },
    )
    .await;
    let c = connect(&gw, "shop").await.unwrap();
    let e = c
        .simple_query("SELECT 'https://Evil.Example/login' AS link")
        .await
        .unwrap_err();
    assert!(describe(&e).contains("threat.query"), "{}", describe(&e));
    assert!(describe(&e).contains(DOMAIN_ID), "{}", describe(&e));
    assert_eq!(
        simple_value(&c, "SELECT 'good.example'")
            .await
            .unwrap()
            .as_deref(),
        Some("good.example")
    );
    drop(c);
    api.ok("delete", "/api/v1/tenants/shop/threat-bypass", None)
        .await;
    poll(
        "without the bypass, refused again",
        Duration::from_secs(15),
        || async {
            match try_connect(&gw).await {
                Err(e) if e.contains("threat.address") => Ok(()),
                other => Err(format!("{other:?}")),
            }
        },
    )
    .await;

    // The source revokes the indicator (a new version with revoked: true); the next fetch
    // removes it and the client is admitted again.
    taxii
        .add(&[stix_indicator(
            LISTED_ID,
            "[ipv4-addr:value = '127.0.0.1']",
            "2024-02-01T00:00:00.000Z",
            json!({"confidence": 90, "revoked": true}),
        )])
        .unwrap();
    let r = api.ok("post", "/api/v1/feeds/blocklist/fetch", None).await;
    assert_eq!(r["report"]["removed"], 1, "{r}");
    assert_eq!(
        r["report"]["added"], 0,
        "only the increment is fetched: {r}"
    );
    poll(
        "the revoked listing admits the client",
        Duration::from_secs(15),
        || async { try_connect(&gw).await },
    )
    .await;
    let v = api
        .ok("get", "/api/v1/indicators?feed=shop/blocklist", None)
        .await;
    assert_eq!(v["items"].as_array().unwrap().len(), 1, "{v}");

    // A gateway restarted while the manager is away keeps the indicators it had.
    drop(gw);
    drop(managed);
    m.stop().await;
    let (gw, _managed) = managed_gateway(&config, &state, "127.0.0.1:9".parse().unwrap()).await;
    let c = connect(&gw, "shop").await.unwrap();
    let e = c.simple_query("SELECT 'evil.example'").await.unwrap_err();
    assert!(describe(&e).contains("threat.query"), "{}", describe(&e));
}

/// A STIX bundle listing `addresses` (each with an id of its own, the same in every bundle)
/// and one file-hash pattern.
fn bundle(addresses: &[&str]) -> Value {
    let mut objects: Vec<Value> = addresses
        .iter()
        .map(|a| {
            let n: u64 = a
                .bytes()
                .fold(0, |h, b| h.wrapping_mul(31).wrapping_add(u64::from(b)));
            stix_indicator(
                &format!(
                    "indicator--00000000-0000-4000-8000-{:012}",
                    n % 1_000_000_000_000
                ),
                &format!("[ipv4-addr:value = '{a}']"),
                "2024-01-01T00:00:00.000Z",
                json!({"confidence": 70}),
            )
        })
        .collect();
    objects.push(stix_indicator(
        "indicator--11111111-0000-4000-8000-000000000000",
        "[file:hashes.'SHA-256' = 'ab']",
        "2024-01-01T00:00:00.000Z",
        json!({}),
    ));
    json!({"type": "bundle", "id": "bundle--5d0092c5-5f74-4287-9642-33f4c354e56d", "objects": objects})
}

const OPENIOC: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<OpenIOC xmlns="http://openioc.org/schemas/OpenIOC_1.1" id="c7ad8ac9-6a4f-4b0a-9d1c-3f3d0e6c1a11" last-modified="2024-01-01T00:00:00Z">
  <metadata><short_description>Test IOC</short_description><authored_date>2024-01-01T00:00:00Z</authored_date></metadata>
  <criteria>
    <Indicator id="i-1" operator="OR">
      <IndicatorItem id="item-ip" condition="is">
        <Context document="PortItem" search="PortItem/remoteIP" type="mir"/>
        <Content type="IP">198.51.100.23</Content>
      </IndicatorItem>
      <IndicatorItem id="item-dns" condition="is">
        <Context document="DnsEntryItem" search="DnsEntryItem/Host" type="mir"/>
        <Content type="string">c2.bad.example</Content>
      </IndicatorItem>
      <IndicatorItem id="item-md5" condition="is">
        <Context document="FileItem" search="FileItem/Md5sum" type="mir"/>
        <Content type="md5">d41d8cd98f00b204e9800998ecf8427e</Content>
      </IndicatorItem>
    </Indicator>
  </criteria>
</OpenIOC>
"#;

const BILLION_LAUGHS: &str = r#"<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol9 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<OpenIOC xmlns="http://openioc.org/schemas/OpenIOC_1.1" id="x"><criteria>&lol9;</criteria></OpenIOC>
"#;

/// `POST /api/v1/feeds/{name}/fetch`, which must fail with 502; its error body.
async fn fetch_fails(api: &Api, name: &str) -> Value {
    let (status, v) = api
        .call(
            "post",
            &format!("/api/v1/feeds/{name}/fetch"),
            Some(ADMIN),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::BAD_GATEWAY, "{name}: {v}");
    v
}

/// `misp/<uuid>.json` under `dir`: one event of a MISP feed directory.
fn write_misp_event(dir: &Path, uuid: &str, attrs: Value) {
    write(
        dir,
        &format!("misp/{uuid}.json"),
        misp_event(uuid, attrs).to_string().as_bytes(),
    );
}

fn misp_event(uuid: &str, attrs: Value) -> Value {
    json!({"Event": {"uuid": uuid, "info": "test event", "threat_level_id": "1",
                     "timestamp": "1700000000", "Attribute": attrs}})
}

fn write(dir: &Path, name: &str, bytes: &[u8]) {
    if let Some(p) = dir.join(name).parent() {
        std::fs::create_dir_all(p).unwrap();
    }
    std::fs::write(dir.join(name), bytes).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn url_openioc_and_misp_feeds_and_hostile_documents() {
    let site = tempfile::tempdir().unwrap();
    let s = site.path();
    write(
        s,
        "stix.json",
        bundle(&["10.0.0.1", "10.0.0.2", "10.0.0.0/16"])
            .to_string()
            .as_bytes(),
    );
    write(s, "ioc.xml", OPENIOC.as_bytes());
    let e1 = "5f1e7c2a-0000-4000-8000-000000000001";
    let e2 = "5f1e7c2a-0000-4000-8000-000000000002";
    write(
        s,
        "misp/manifest.json",
        json!({e1: {"info": "one", "timestamp": "1700000000"}, e2: {"info": "two", "timestamp": "1700000001"}})
            .to_string()
            .as_bytes(),
    );
    write_misp_event(
        s,
        e1,
        json!([
            {"uuid": "a-1", "type": "ip-dst|port", "value": "203.0.113.5|443", "to_ids": true},
            {"uuid": "a-2", "type": "domain", "value": "Phish.Example", "to_ids": true},
            {"uuid": "a-3", "type": "md5", "value": "d41d8cd98f00b204e9800998ecf8427e", "to_ids": true},
        ]),
    );
    write_misp_event(
        s,
        e2,
        json!([
            {"uuid": "b-1", "type": "target-user", "value": "mallory", "to_ids": true},
            {"uuid": "b-2", "type": "ip-src", "value": "192.0.2.66", "to_ids": false},
        ]),
    );
    write(s, "laughs.xml", BILLION_LAUGHS.as_bytes());
    let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    write(s, "deep.json", deep.as_bytes());
    // A 200 MB string where the parser reads the pattern.
    {
        use std::io::Write;
        let mut f = std::io::BufWriter::new(std::fs::File::create(s.join("huge.json")).unwrap());
        f.write_all(br#"{"type":"bundle","id":"bundle--1","objects":[{"type":"indicator","id":"indicator--1","pattern_type":"stix","pattern":""#).unwrap();
        let chunk = vec![b'a'; 1 << 20];
        for _ in 0..200 {
            f.write_all(&chunk).unwrap();
        }
        f.write_all(br#""}]}"#).unwrap();
    }
    let server = tokio::task::spawn_blocking({
        let p = s.to_path_buf();
        move || FileServer::start(&p).unwrap()
    })
    .await
    .unwrap();

    let dir = tempfile::tempdir().unwrap();
    let m = Manager::start(opts(dir.path(), None, None)).await.unwrap();
    let api = Api::new(m.addr);
    let create = |name: &str, format: &str, path: &str| json!({"name": name, "format": format, "url": server.url(path), "interval": "manual"});
    for (name, format, path) in [
        ("stix-url", "stix", "stix.json"),
        ("ioc-url", "openioc", "ioc.xml"),
        ("misp", "misp-feed", "misp/"),
        ("laughs", "openioc", "laughs.xml"),
        ("deep", "stix", "deep.json"),
        ("huge", "stix", "huge.json"),
    ] {
        api.ok("post", "/api/v1/feeds", Some(&create(name, format, path)))
            .await;
    }
    // STIX over a URL: three addresses, one unsupported pattern counted.
    let r = api.ok("post", "/api/v1/feeds/stix-url/fetch", None).await;
    assert_eq!(r["report"]["added"], 3, "{r}");
    assert_eq!(r["report"]["unsupported"]["file:hashes"], 1, "{r}");
    // The document is the feed's whole list: what it drops is removed.
    write(
        s,
        "stix.json",
        bundle(&["10.0.0.1", "10.0.0.0/16"]).to_string().as_bytes(),
    );
    let r = api.ok("post", "/api/v1/feeds/stix-url/fetch", None).await;
    assert_eq!(
        (
            r["report"]["removed"].as_u64(),
            r["report"]["unchanged"].as_u64()
        ),
        (Some(1), Some(2)),
        "{r}"
    );
    // OpenIOC.
    let r = api.ok("post", "/api/v1/feeds/ioc-url/fetch", None).await;
    assert_eq!(r["report"]["added"], 2, "{r}");
    let v = api
        .ok("get", "/api/v1/indicators?feed=ioc-url&kind=domain", None)
        .await;
    assert_eq!(v["items"][0]["value"], "c2.bad.example", "{v}");
    // The MISP feed layout: manifest.json plus one file per event.
    let r = api.ok("post", "/api/v1/feeds/misp/fetch", None).await;
    assert_eq!(r["report"]["documents"], 2, "{r}");
    assert_eq!(r["report"]["added"], 3, "{r}");
    let v = api.ok("get", "/api/v1/indicators?feed=misp", None).await;
    let values: Vec<&str> = v["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["value"].as_str().unwrap())
        .collect();
    for want in ["203.0.113.5", "phish.example", "mallory"] {
        assert!(values.contains(&want), "{want} in {values:?}");
    }
    assert!(
        !values.contains(&"192.0.2.66"),
        "to_ids false is not enforced"
    );

    // A feed with an interval is fetched by the scheduler, with no one asking.
    api.ok(
        "post",
        "/api/v1/feeds",
        Some(
            &json!({"name": "scheduled", "format": "stix", "url": server.url("stix.json"),
                     "interval": "10s"}),
        ),
    )
    .await;
    poll(
        "the scheduler fetches the feed",
        Duration::from_secs(20),
        || async {
            let f = api.ok("get", "/api/v1/feeds/scheduled", None).await;
            match f["status"]["indicators"].as_i64() {
                Some(n) if n > 0 && f["status"]["last_success"].is_i64() => Ok(()),
                _ => Err(f.to_string()),
            }
        },
    )
    .await;

    // Hostile documents cost an error naming the problem, never the manager.
    for (name, expect) in [
        ("laughs", "DOCTYPE"),
        ("deep", "expected"),
        ("huge", "/objects/0/pattern"),
    ] {
        let v = fetch_fails(&api, name).await;
        let msg = v["error"]["message"].as_str().unwrap().to_lowercase();
        assert!(msg.contains(&expect.to_lowercase()), "{name}: {msg}");
        let f = api.ok("get", &format!("/api/v1/feeds/{name}"), None).await;
        assert!(f["status"]["last_error"].is_string(), "{f}");
        assert_eq!(f["status"]["indicators"], 0, "{f}");
    }
    api.ok("get", "/healthz", None).await;

    // An uploaded document, and bad feed definitions refused with the field named.
    let (s2, v) = api
        .raw(
            "POST",
            "/api/v1/feeds/stix-url/document",
            ADMIN,
            "application/json",
            bundle(&["10.9.9.9"]).to_string().into_bytes(),
        )
        .await;
    assert_eq!(s2, StatusCode::OK, "{v}");
    assert_eq!(v["report"]["added"], 1, "{v}");
    for (body, field) in [
        (json!({"name": "x", "format": "stix"}), "url"),
        (
            json!({"name": "x", "format": "yaml", "url": "http://h/"}),
            "body",
        ),
        (
            json!({"name": "x", "format": "stix", "url": "http://h/", "parser": "acl"}),
            "parser",
        ),
        (
            json!({"name": "x", "format": "stix", "url": "http://h/", "tenant": "nope"}),
            "tenant",
        ),
        (
            json!({"name": "stix-url", "format": "stix", "url": "http://h/"}),
            "",
        ),
    ] {
        let (status, v) = api
            .call("post", "/api/v1/feeds", Some(ADMIN), Some(&body))
            .await;
        assert!(status.is_client_error(), "{body}: {status} {v}");
        if !field.is_empty() && status == StatusCode::BAD_REQUEST {
            assert_eq!(v["error"]["field"], field, "{body}: {v}");
        }
    }
    // Deleting a feed removes its indicators.
    let (s3, _) = api
        .call("delete", "/api/v1/feeds/misp", Some(ADMIN), None)
        .await;
    assert_eq!(s3, StatusCode::NO_CONTENT);
    let v = api.ok("get", "/api/v1/indicators?feed=misp", None).await;
    assert_eq!(v["items"].as_array().unwrap().len(), 0, "{v}");
    m.stop().await;
}

/// Feeds over HTTPS, as every real feed is: a MISP feed directory from a static HTTPS server and
/// a TAXII 2.1 collection (medallion over HTTPS), both with certificates of a private test CA
/// given as the feed's `ca_file`. The wrong CA, and the platform's roots (which do not hold the
/// test CA), fail with a `last_error` that names the certificate problem; a `ca_file` that is
/// not a certificate bundle is refused when the feed is defined.
#[tokio::test(flavor = "multi_thread")]
async fn https_feeds_trust_their_ca_file_and_fail_clearly_with_another() {
    use articdbm_tests::pki::Pki;
    let certs = tempfile::tempdir().unwrap();
    let pki = Pki::new(certs.path(), "feed-ca").unwrap();
    let other = pki.add_ca("other-ca").unwrap();
    let (cert, key) = pki
        .issue("feed-ca", "feeds", "DNS:localhost,IP:127.0.0.1")
        .unwrap();
    let ca = pki.ca_cert("feed-ca");
    let not_pem = certs.path().join("feeds.ext");

    let site = tempfile::tempdir().unwrap();
    let s = site.path();
    let e1 = "5f1e7c2a-0000-4000-8000-0000000000a1";
    write(
        s,
        "misp/manifest.json",
        json!({e1: {"info": "one", "timestamp": "1700000000"}})
            .to_string()
            .as_bytes(),
    );
    write_misp_event(
        s,
        e1,
        json!([
            {"uuid": "c-1", "type": "ip-dst", "value": "198.51.100.7", "to_ids": true},
            {"uuid": "c-2", "type": "domain", "value": "tls.bad.example", "to_ids": true},
        ]),
    );
    let (server, taxii) = tokio::task::spawn_blocking({
        let (p, cert, key) = (s.to_path_buf(), cert.clone(), key.clone());
        move || {
            let server = FileServer::start_tls(&p, &cert, &key).unwrap();
            let taxii = TaxiiServer::start_tls(&cert, &key).unwrap();
            taxii
                .add(&[stix_indicator(
                    LISTED_ID,
                    "[ipv4-addr:value = '203.0.113.99']",
                    "2026-01-01T00:00:00.000Z",
                    json!({}),
                )])
                .unwrap();
            (server, taxii)
        }
    })
    .await
    .unwrap();
    assert!(server.url("misp/").starts_with("https://"));
    assert!(taxii.discovery().starts_with("https://"));

    let dir = tempfile::tempdir().unwrap();
    let m = Manager::start(opts(dir.path(), None, None)).await.unwrap();
    let api = Api::new(m.addr);
    let misp = |name: &str, ca: Option<&Path>| {
        let mut v = json!({"name": name, "format": "misp-feed", "url": server.url("misp/"),
                           "interval": "manual"});
        if let Some(ca) = ca {
            v["ca_file"] = json!(ca.display().to_string());
        }
        v
    };
    api.ok("post", "/api/v1/feeds", Some(&misp("misp-tls", Some(&ca))))
        .await;
    api.ok(
        "post",
        "/api/v1/feeds",
        Some(&misp("misp-other-ca", Some(&other))),
    )
    .await;
    api.ok("post", "/api/v1/feeds", Some(&misp("misp-platform", None)))
        .await;
    api.ok(
        "post",
        "/api/v1/feeds",
        Some(&json!({
            "name": "taxii-tls", "format": "stix", "interval": "manual",
            "ca_file": ca.display().to_string(),
            "taxii": {"url": taxii.discovery(), "collection": COLLECTION_TITLE,
                      "auth": {"username": USER, "password": PASSWORD}},
        })),
    )
    .await;

    // The right CA: both fetch.
    let r = api.ok("post", "/api/v1/feeds/misp-tls/fetch", None).await;
    assert_eq!(r["report"]["added"], 2, "{r}");
    let r = api.ok("post", "/api/v1/feeds/taxii-tls/fetch", None).await;
    assert_eq!(r["report"]["added"], 1, "{r}");
    let v = api
        .ok("get", "/api/v1/indicators?feed=taxii-tls", None)
        .await;
    assert_eq!(v["items"][0]["value"], "203.0.113.99", "{v}");

    // Another CA, and the platform's roots: the fetch fails, nothing is ingested, and the
    // error says it is the certificate.
    for name in ["misp-other-ca", "misp-platform"] {
        fetch_fails(&api, name).await;
        let f = api.ok("get", &format!("/api/v1/feeds/{name}"), None).await;
        let err = f["status"]["last_error"].as_str().unwrap_or_default();
        assert!(
            err.contains("certificate") && err.contains(&server.url("misp/")),
            "{name}: {err}"
        );
        assert_eq!(f["status"]["indicators"], 0, "{f}");
    }

    // A ca_file that cannot serve: refused at definition, the field and the file named.
    for (path, says) in [
        (not_pem.clone(), "no certificate"),
        (certs.path().join("missing.pem"), "cannot read"),
    ] {
        let mut body = misp("bad-ca", None);
        body["ca_file"] = json!(path.display().to_string());
        let (status, v) = api
            .call("post", "/api/v1/feeds", Some(ADMIN), Some(&body))
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{v}");
        assert_eq!(v["error"]["field"], "ca_file", "{v}");
        let msg = v["error"]["message"].as_str().unwrap();
        assert!(
            msg.contains(says) && msg.contains(&path.display().to_string()),
            "{msg}"
        );
    }
    m.stop().await;
}
