//! Test component: allocates without bound on every query containing "hog", allows the rest.
//! Used to prove the per-instance memory cap contains a plugin that blows up. A query
//! containing "leak" leaks 1 MiB and is allowed: a heap that only grows, which the runtime
//! must retire before it reaches the cap.

use articdbm_plugin_sdk::prelude::*;

pub struct Hog;

impl Policy for Hog {
    fn configure(_config: &str) -> Result<Self, String> {
        Ok(Hog)
    }

    fn on_query(&self, _conn: &Connection, query: &Query) -> Verdict {
        if query.sql.contains("hog") {
            let mut keep: Vec<Vec<u8>> = Vec::new();
            loop {
                let mut chunk = vec![0u8; 1 << 20];
                chunk[0] = 1;
                keep.push(std::hint::black_box(chunk));
            }
        }
        if query.sql.contains("leak") {
            let mut chunk = vec![0u8; 1 << 20];
            chunk[0] = 1;
            std::mem::forget(std::hint::black_box(chunk));
        }
        Verdict::Allow
    }
}

export_policy!(Hog);
