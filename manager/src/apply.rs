//! `articdbm-manager apply -f PATH...`: declarative, idempotent set-up through the REST API.
//!
//! Each file (or each `*.toml` in a directory) is either
//! - a rule pack (it has a top-level `kind`), applied with `PUT /api/v1/packs/{name}`; or
//! - a tenant file: a `[tenant]` table (`name`, `description`) with optional `[[user]]` and
//!   `[[database]]` tables in the API's JSON shapes, applied with POST (tenant) and PUT
//!   (users, databases).
//!
//! Tenant files go first, so tenant packs find their tenant. Applying the same files twice
//! changes nothing the second time.

use std::path::PathBuf;

use anyhow::{Context, bail};
use serde_json::Value;

pub struct ApplyOptions {
    pub manager: String,
    pub key: String,
    pub files: Vec<PathBuf>,
}

fn collect(paths: &[PathBuf]) -> anyhow::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            let mut v: Vec<PathBuf> = std::fs::read_dir(p)
                .with_context(|| p.display().to_string())?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|f| f.extension().is_some_and(|x| x == "toml") && f.is_file())
                .collect();
            v.sort();
            out.extend(v);
        } else {
            out.push(p.clone());
        }
    }
    Ok(out)
}

async fn check(resp: reqwest::Response, what: &str) -> anyhow::Result<Value> {
    let status = resp.status();
    let body: Value = resp.json().await.unwrap_or(Value::Null);
    if status.is_success() {
        Ok(body)
    } else {
        let msg = body
            .pointer("/error/message")
            .and_then(Value::as_str)
            .unwrap_or("no message");
        bail!("{what}: {status}: {msg}")
    }
}

pub async fn apply(opts: ApplyOptions) -> anyhow::Result<()> {
    let base = opts.manager.trim_end_matches('/').to_string();
    let http = reqwest::Client::new();
    let auth = format!("Bearer {}", opts.key);
    let files = collect(&opts.files)?;
    let mut tenants = Vec::new();
    let mut packs = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(&f).with_context(|| f.display().to_string())?;
        let doc: toml::Table =
            toml::from_str(&text).with_context(|| format!("{}: not TOML", f.display()))?;
        if doc.contains_key("tenant") && doc.get("tenant").is_some_and(toml::Value::is_table) {
            tenants.push((f, doc));
        } else if doc.contains_key("kind") {
            packs.push((f, doc, text));
        } else {
            bail!(
                "{}: neither a pack (top-level `kind`) nor a tenant file (`[tenant]`)",
                f.display()
            );
        }
    }
    for (f, doc) in &tenants {
        let where_ = f.display().to_string();
        let json = serde_json::to_value(doc)?;
        let t = &json["tenant"];
        let name = t["name"]
            .as_str()
            .with_context(|| format!("{where_}: [tenant] needs `name`"))?;
        let resp = http
            .post(format!("{base}/api/v1/tenants"))
            .header("Authorization", &auth)
            .json(t)
            .send()
            .await?;
        if resp.status() != reqwest::StatusCode::CONFLICT {
            check(resp, &format!("{where_}: tenant {name}")).await?;
            println!("tenant {name}: created");
        } else {
            println!("tenant {name}: exists");
        }
        for (kind, path) in [("user", "users"), ("database", "databases")] {
            for item in json[kind].as_array().into_iter().flatten() {
                let n = item["name"]
                    .as_str()
                    .with_context(|| format!("{where_}: a [[{kind}]] needs `name`"))?;
                let resp = http
                    .put(format!("{base}/api/v1/tenants/{name}/{path}/{n}"))
                    .header("Authorization", &auth)
                    .json(item)
                    .send()
                    .await?;
                let status = resp.status();
                check(resp, &format!("{where_}: {kind} {n}")).await?;
                println!(
                    "{kind} {name}/{n}: {}",
                    if status == reqwest::StatusCode::CREATED {
                        "created"
                    } else {
                        "applied"
                    }
                );
            }
        }
    }
    for (f, doc, text) in &packs {
        let name = doc
            .get("name")
            .and_then(toml::Value::as_str)
            .with_context(|| format!("{}: a pack needs `name`", f.display()))?;
        let resp = http
            .put(format!("{base}/api/v1/packs/{name}"))
            .header("Authorization", &auth)
            .header("Content-Type", "application/toml")
            .body(text.clone())
            .send()
            .await?;
        let status = resp.status();
        check(resp, &format!("{}: pack {name}", f.display())).await?;
        println!(
            "pack {name}: {}",
            if status == reqwest::StatusCode::CREATED {
                "created"
            } else {
                "applied"
            }
        );
    }
    Ok(())
}
