//! Each policy crate is a cdylib + rlib whose lib.rs exports `wapc_init`
//! (`#[unsafe(no_mangle)]`), the waPC start-up hook of its `.wasm`. Linking
//! four of them natively into one binary defines `wapc_init` four times; this
//! benchmark only calls their `evaluate` functions, never `wapc_init`, so the
//! duplicates are harmless: let the linker keep the first.
//! (Gating `wapc_init` on `cfg(target_arch = "wasm32")` in the policies would
//! make this unnecessary.)

fn main() {
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    if os == "macos" || os == "ios" {
        // ld64 keeps the first definition of a symbol found in archives when
        // told duplicates are acceptable.
        println!("cargo:rustc-link-arg-bins=-Wl,-multiply_defined,suppress");
    } else if os != "windows" {
        println!("cargo:rustc-link-arg-bins=-Wl,--allow-multiple-definition");
    }
    println!("cargo:rerun-if-changed=build.rs");
}
