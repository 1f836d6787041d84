//! The smallest waPC guest: it copies the request into its memory and answers
//! `{"accepted":true}` (`{"valid":true}` to settings, `"v1"` to the protocol
//! version). Timing it through the same host call as a policy
//! gives the host's share of a `validate` call (JSON encoding of the payload,
//! the wasmtime call, copying the payload in and the answer out, decoding the
//! answer) with no policy work at all.

/// The guest, in WAT. Four 64 KiB pages hold any benchmark payload.
pub const WAT: &str = r#"
(module
  (import "wapc" "__guest_request" (func $guest_request (param i32 i32)))
  (import "wapc" "__guest_response" (func $guest_response (param i32 i32)))
  (memory (export "memory") 4)
  (data (i32.const 0) "{\"accepted\":true}")
  (data (i32.const 32) "{\"valid\":true}")
  (data (i32.const 64) "\"v1\"")
  (func (export "wapc_init"))
  (func (export "__guest_call") (param $op_len i32) (param $req_len i32) (result i32)
    ;; operation name at 1024, request right after it
    (call $guest_request (i32.const 1024) (i32.add (i32.const 1024) (local.get $op_len)))
    ;; told apart by length: protocol_version (16), validate_settings (17),
    ;; validate (8): kwctl asks the first two when it annotates or benches
    (if (i32.eq (local.get $op_len) (i32.const 16))
      (then (call $guest_response (i32.const 64) (i32.const 4)) (return (i32.const 1))))
    (if (i32.eq (local.get $op_len) (i32.const 17))
      (then (call $guest_response (i32.const 32) (i32.const 14)) (return (i32.const 1))))
    (call $guest_response (i32.const 0) (i32.const 17))
    (i32.const 1)))
"#;

pub fn module() -> anyhow::Result<Vec<u8>> {
    wat::parse_str(WAT).map_err(|e| anyhow::anyhow!("no-op guest does not assemble: {e}"))
}
