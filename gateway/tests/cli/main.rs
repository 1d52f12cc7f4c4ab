//! The `articdbm-gateway` binary's commands (`policy test`, `policy check`, `run`), run as a
//! user would, with real components built by `articdbm-plugin-artifacts`.

mod commands;
mod plugins;
// The runtime crate's test fixture: plugin directories, packs, a runtime.
#[allow(dead_code)]
#[path = "../../runtime/tests/it/fixture.rs"]
mod fixture;
