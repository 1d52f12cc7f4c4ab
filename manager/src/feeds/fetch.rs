//! Fetching feed documents over HTTP: a plain URL, a MISP feed directory (`manifest.json` plus
//! one file per event) or a TAXII 2.1 collection (discovery, API root, collections, objects
//! with `added_after` and `next` paging). Nothing here interprets a document beyond the TAXII
//! and MISP manifest envelopes: the documents themselves go to the sandboxed parsers.

use std::time::Duration;

use reqwest::header::{ACCEPT, HeaderMap, HeaderValue};
use serde::Deserialize;

use super::{Auth, FeedSpec, Format, TaxiiSpec};

/// The media type of TAXII 2.1 requests and responses.
pub const TAXII_MEDIA: &str = "application/taxii+json;version=2.1";
/// Pages of one TAXII fetch at most (with the server's page size, a bound on one fetch).
const MAX_PAGES: usize = 10_000;
/// Events of one MISP feed fetch at most.
const MAX_EVENTS: usize = 10_000;

/// One document to parse.
pub struct Document {
    /// The format to parse it as ("stix", "openioc", "misp", "misp-feed-event").
    pub format: &'static str,
    pub bytes: Vec<u8>,
    /// Where it came from, for error messages.
    pub origin: String,
}

/// What one fetch brought.
pub struct Fetched {
    pub documents: Vec<Document>,
    /// The TAXII `added_after` to continue from next time.
    pub cursor: Option<String>,
    /// True when the documents are the feed's whole list (URL, MISP feed); false for a TAXII
    /// increment.
    pub complete: bool,
}

fn builder(timeout: Duration) -> reqwest::ClientBuilder {
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(Duration::from_secs(10))
        .user_agent(concat!("articdbm-manager/", env!("CARGO_PKG_VERSION")))
}

/// The client of feeds without a CA of their own: TLS (rustls) trusts the platform's roots.
pub fn client(timeout: Duration) -> Result<reqwest::Client, String> {
    builder(timeout)
        .build()
        .map_err(|e| format!("HTTP client: {e}"))
}

/// The client of a feed with `ca_file`: TLS trusts the CA certificates of that file only.
pub fn client_with_ca(timeout: Duration, ca_file: &str) -> Result<reqwest::Client, String> {
    let mut b = builder(timeout).tls_built_in_root_certs(false);
    for cert in read_ca(ca_file)? {
        b = b.add_root_certificate(cert);
    }
    b.build()
        .map_err(|e| format!("HTTP client with ca_file {ca_file}: {e}"))
}

/// The certificates of a PEM file: at least one, or an error naming the file and the problem.
pub fn read_ca(path: &str) -> Result<Vec<reqwest::Certificate>, String> {
    let pem = std::fs::read(path).map_err(|e| format!("cannot read {path}: {e}"))?;
    let certs = reqwest::Certificate::from_pem_bundle(&pem)
        .map_err(|e| format!("{path} is not a PEM certificate bundle: {e}"))?;
    if certs.is_empty() {
        return Err(format!(
            "{path} holds no certificate (expected PEM `-----BEGIN CERTIFICATE-----` blocks)"
        ));
    }
    Ok(certs)
}

/// Fetches the feed's documents. `cursor` continues a TAXII collection where the last fetch
/// stopped (None: from the start).
pub async fn fetch(
    client: &reqwest::Client,
    spec: &FeedSpec,
    cursor: Option<&str>,
) -> Result<Fetched, String> {
    let limit = spec.max_bytes();
    if let Some(t) = &spec.taxii {
        return taxii(client, t, cursor, limit).await;
    }
    let url = spec
        .url
        .as_deref()
        .ok_or_else(|| "the feed has neither `url` nor `taxii`".to_string())?;
    match spec.format {
        Format::MispFeed => misp_feed(client, url, spec.auth.as_ref(), limit).await,
        f => {
            let bytes = get(client, url, spec.auth.as_ref(), None, limit).await?.1;
            Ok(Fetched {
                documents: vec![Document {
                    format: f.parser_format(),
                    bytes,
                    origin: url.to_string(),
                }],
                cursor: None,
                complete: true,
            })
        }
    }
}

fn authorize(req: reqwest::RequestBuilder, auth: Option<&Auth>) -> reqwest::RequestBuilder {
    match auth {
        Some(Auth { token: Some(t), .. }) => req.bearer_auth(t),
        Some(Auth {
            username: Some(u),
            password,
            ..
        }) => req.basic_auth(u, password.as_deref()),
        _ => req,
    }
}

/// GETs `url` and reads at most `limit` bytes of body; a non-2xx status is an error naming it.
async fn get(
    client: &reqwest::Client,
    url: &str,
    auth: Option<&Auth>,
    accept: Option<&str>,
    limit: u64,
) -> Result<(HeaderMap, Vec<u8>), String> {
    let mut req = authorize(client.get(url), auth);
    if let Some(a) = accept {
        req = req.header(ACCEPT, HeaderValue::from_str(a).map_err(|e| e.to_string())?);
    }
    let mut resp = req
        .send()
        .await
        .map_err(|e| format!("GET {url}: {}", describe(&e)))?;
    let status = resp.status();
    if !status.is_success() {
        let body = resp.text().await.unwrap_or_default();
        let body: String = body.chars().take(200).collect();
        return Err(format!("GET {url}: HTTP {status}: {body}"));
    }
    if let Some(len) = resp.content_length()
        && len > limit
    {
        return Err(format!(
            "GET {url}: the document is {len} bytes, more than the feed's max_bytes ({limit})"
        ));
    }
    let headers = resp.headers().clone();
    let mut body = Vec::new();
    while let Some(chunk) = resp
        .chunk()
        .await
        .map_err(|e| format!("GET {url}: {}", describe(&e)))?
    {
        if body.len() as u64 + chunk.len() as u64 > limit {
            return Err(format!(
                "GET {url}: the document is larger than the feed's max_bytes ({limit})"
            ));
        }
        body.extend_from_slice(&chunk);
    }
    Ok((headers, body))
}

/// An HTTP error with its causes (reqwest's own text leaves out the TLS reason).
fn describe(e: &reqwest::Error) -> String {
    articdbm_config::error_chain(e)
}

fn join(base: &str, path: &str) -> String {
    format!(
        "{}/{}",
        base.trim_end_matches('/'),
        path.trim_start_matches('/')
    )
}

async fn get_json<T: for<'de> Deserialize<'de>>(
    client: &reqwest::Client,
    url: &str,
    auth: Option<&Auth>,
) -> Result<T, String> {
    let (_, body) = get(client, url, auth, Some(TAXII_MEDIA), 16 << 20).await?;
    serde_json::from_slice(&body)
        .map_err(|e| format!("GET {url}: not the expected TAXII resource: {e}"))
}

#[derive(Deserialize)]
struct Discovery {
    #[serde(default)]
    default: Option<String>,
    #[serde(default)]
    api_roots: Vec<String>,
}

#[derive(Deserialize)]
struct Collections {
    #[serde(default)]
    collections: Vec<Collection>,
}

#[derive(Deserialize)]
struct Collection {
    id: String,
    #[serde(default)]
    title: String,
    #[serde(default = "yes")]
    can_read: bool,
}

fn yes() -> bool {
    true
}

#[derive(Deserialize)]
struct Envelope {
    #[serde(default)]
    more: bool,
    #[serde(default)]
    next: Option<String>,
}

/// Resolves the API root: `api_root` when the spec names one (a URL, or a path on the
/// discovery server), else the discovery document's default, else its only root; a URL that
/// is not a discovery endpoint is taken as the API root itself.
async fn api_root(client: &reqwest::Client, t: &TaxiiSpec) -> Result<String, String> {
    let auth = Some(&t.auth);
    if let Some(root) = &t.api_root {
        if root.starts_with("http://") || root.starts_with("https://") {
            return Ok(root.clone());
        }
        let base = t.url.split("/taxii2").next().unwrap_or(&t.url);
        return Ok(join(base, root));
    }
    let v: serde_json::Value = get_json(client, &t.url, auth).await?;
    if v.get("api_roots").is_none() && v.get("default").is_none() {
        // Not a discovery document: an API root answers with title and versions.
        return Ok(t.url.clone());
    }
    let d: Discovery = serde_json::from_value(v).map_err(|e| format!("{}: {e}", t.url))?;
    if let Some(def) = d.default {
        return Ok(def);
    }
    match d.api_roots.as_slice() {
        [one] => Ok(one.clone()),
        [] => Err(format!("{}: the TAXII server lists no API root", t.url)),
        many => Err(format!(
            "{}: the TAXII server lists {} API roots and no default; set taxii.api_root to one of {}",
            t.url,
            many.len(),
            many.join(", ")
        )),
    }
}

async fn taxii(
    client: &reqwest::Client,
    t: &TaxiiSpec,
    cursor: Option<&str>,
    limit: u64,
) -> Result<Fetched, String> {
    let auth = Some(&t.auth);
    let root = api_root(client, t).await?;
    let list: Collections = get_json(client, &join(&root, "collections/"), auth).await?;
    let col = list
        .collections
        .iter()
        .find(|c| c.id == t.collection || c.title == t.collection)
        .ok_or_else(|| {
            format!(
                "{root}: no collection with id or title '{}' (the server has: {})",
                t.collection,
                list.collections
                    .iter()
                    .map(|c| format!("{} ({})", c.id, c.title))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        })?;
    if !col.can_read {
        return Err(format!(
            "{root}: collection '{}' cannot be read with these credentials",
            t.collection
        ));
    }
    let objects = join(&root, &format!("collections/{}/objects/", col.id));
    let mut documents = Vec::new();
    let mut next: Option<String> = None;
    let mut last_added = cursor.map(str::to_string);
    let mut total: u64 = 0;
    for page in 0.. {
        if page >= MAX_PAGES {
            return Err(format!(
                "{objects}: more than {MAX_PAGES} pages in one fetch"
            ));
        }
        let mut url = reqwest::Url::parse(&objects).map_err(|e| format!("{objects}: {e}"))?;
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("limit", &t.page_size.to_string());
            if let Some(c) = cursor {
                q.append_pair("added_after", c);
            }
            if let Some(n) = &next {
                q.append_pair("next", n);
            }
        }
        let (headers, body) = get(client, url.as_str(), auth, Some(TAXII_MEDIA), limit).await?;
        total += body.len() as u64;
        if total > limit {
            return Err(format!(
                "{objects}: the collection is larger than the feed's max_bytes ({limit})"
            ));
        }
        let env: Envelope = serde_json::from_slice(&body)
            .map_err(|e| format!("{objects}: not a TAXII envelope: {e}"))?;
        if let Some(added) = headers
            .get("X-TAXII-Date-Added-Last")
            .and_then(|v| v.to_str().ok())
        {
            last_added = Some(added.to_string());
        }
        documents.push(Document {
            format: "stix",
            bytes: body,
            origin: format!("{objects} page {}", page + 1),
        });
        match (env.more, env.next) {
            (true, Some(n)) => next = Some(n),
            _ => break,
        }
    }
    Ok(Fetched {
        documents,
        cursor: last_added,
        complete: false,
    })
}

async fn misp_feed(
    client: &reqwest::Client,
    url: &str,
    auth: Option<&Auth>,
    limit: u64,
) -> Result<Fetched, String> {
    let manifest_url = join(url, "manifest.json");
    let (_, body) = get(client, &manifest_url, auth, None, 64 << 20).await?;
    let events = manifest_events(&body).map_err(|e| format!("{manifest_url}: {e}"))?;
    if events.len() > MAX_EVENTS {
        return Err(format!(
            "{manifest_url}: {} events, more than {MAX_EVENTS} in one feed",
            events.len()
        ));
    }
    let mut documents = Vec::with_capacity(events.len());
    let mut total = 0u64;
    for uuid in events {
        let event_url = join(url, &format!("{uuid}.json"));
        let bytes = get(client, &event_url, auth, None, limit).await?.1;
        total += bytes.len() as u64;
        if total > limit {
            return Err(format!(
                "{url}: the feed's events are larger than its max_bytes ({limit})"
            ));
        }
        documents.push(Document {
            format: "misp-feed-event",
            bytes,
            origin: event_url,
        });
    }
    Ok(Fetched {
        documents,
        cursor: None,
        complete: true,
    })
}

/// The event uuids a MISP feed's `manifest.json` lists, in document order. The uuids are
/// checked (canonical 8-4-4-4-12 form), so a manifest cannot point outside the feed's
/// directory.
pub fn manifest_events(body: &[u8]) -> Result<Vec<String>, String> {
    articdbm_feed_misp::manifest_events(body)
        .map(|events| events.into_iter().map(|(uuid, _)| uuid).collect())
        .map_err(|e| match e.location {
            Some(l) => format!("{} (at {l})", e.message),
            None => e.message,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn join_paths() {
        assert_eq!(
            join("http://h/api1/", "/collections/"),
            "http://h/api1/collections/"
        );
        assert_eq!(
            join("http://h/feed", "manifest.json"),
            "http://h/feed/manifest.json"
        );
    }
}
