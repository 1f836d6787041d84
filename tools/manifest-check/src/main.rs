//! `gpu-policy-check`: see the library crate (`manifest_check`).

fn main() -> std::process::ExitCode {
    std::process::ExitCode::from(manifest_check::cli::main())
}
