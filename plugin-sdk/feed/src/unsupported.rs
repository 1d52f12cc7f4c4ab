//! Counting what a document holds that a gateway cannot enforce: nothing is dropped silently.

use std::collections::BTreeMap;

use crate::Unsupported;

/// Counts of unsupported patterns or items by kind ("file:hashes", "process:name", ...).
#[derive(Debug, Default, Clone)]
pub struct Counter(BTreeMap<String, u32>);

impl Counter {
    /// Counts one more of `kind`.
    pub fn add(&mut self, kind: impl Into<String>) {
        let n = self.0.entry(kind.into()).or_insert(0);
        *n = n.saturating_add(1);
    }

    /// True when nothing was counted.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The count of `kind`.
    pub fn get(&self, kind: &str) -> u32 {
        self.0.get(kind).copied().unwrap_or(0)
    }

    /// The counts, sorted by kind.
    pub fn into_list(self) -> Vec<Unsupported> {
        self.0
            .into_iter()
            .map(|(kind, count)| Unsupported { kind, count })
            .collect()
    }
}
