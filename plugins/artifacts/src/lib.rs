//! Paths of the plugin components built for wasm32-wasip2 by this crate's build script.
//! Tests and benchmarks depend on this crate to get real components, built by the build.

include!(concat!(env!("OUT_DIR"), "/paths.rs"));
