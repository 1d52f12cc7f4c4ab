//! Shared helpers for end-to-end tests (servers, clients) live here as they are added.
