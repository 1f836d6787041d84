// Each policy crate exports `#[no_mangle] wapc_init` for its wasm module;
// the fuzz binaries link all four policies natively, where nobody calls it.
// Let the linker keep one instead of failing on the duplicates.
fn main() {
    println!("cargo:rustc-link-arg=-Wl,--allow-multiple-definition");
}
