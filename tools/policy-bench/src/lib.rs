//! `make bench`: every GPU policy's `validate` through the project's waPC host
//! (wasmtime) and natively, on the same payload bytes; the wasm/native ratio,
//! `.wasm` size and load time. See README.md in this folder.

pub mod noop_guest;
pub mod phases;
pub mod policies;
pub mod stats;
pub mod timing;
