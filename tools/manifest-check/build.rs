//! Embeds the project's policies in `gpu-policy-check`, so the binary runs
//! from any folder with nothing beside it: every crate under `policies/`
//! (found on disk, never listed here) as its wasm32-wasip1 module and its
//! metadata.yml, copied to `OUT_DIR` and listed in `OUT_DIR/embedded.rs`
//! (see src/modules.rs).
//!
//! The modules come from `$GPU_POLICY_CHECK_WASM_DIR/<policy>.wasm` when it
//! is set (the Makefile points it at `make build`'s output, so nothing is
//! built twice); otherwise this script builds them with a nested
//! `cargo build --profile wasm --target wasm32-wasip1` in its own target
//! folder (the outer build holds the lock of its own one).

use std::ffi::OsStr;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::SystemTime;

const WASM_DIR_ENV: &str = "GPU_POLICY_CHECK_WASM_DIR";
const WASM_TARGET: &str = "wasm32-wasip1";
const WASM_PROFILE: &str = "wasm";

fn env_path(name: &str) -> Result<PathBuf, String> {
    std::env::var_os(name)
        .map(PathBuf::from)
        .ok_or_else(|| format!("cargo did not set {name}"))
}

/// Every folder under `policies/` with a Cargo.toml, by name: the policy,
/// its crate and its module share the folder's name (policy-registry's
/// build script enforces it).
fn policies(policies_dir: &Path) -> Result<Vec<String>, String> {
    let mut names: Vec<String> = fs::read_dir(policies_dir)
        .map_err(|e| format!("reading {}: {e}", policies_dir.display()))?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.join("Cargo.toml").is_file())
        .filter_map(|p| p.file_name().and_then(OsStr::to_str).map(str::to_owned))
        .collect();
    names.sort();
    if names.is_empty() {
        return Err(format!(
            "no policy crate under {}: nothing to embed",
            policies_dir.display()
        ));
    }
    Ok(names)
}

/// Whether the outer cargo's setting would change or break the nested
/// build: its target folder, target, profile settings, flags and wrappers
/// (clippy-driver under `cargo clippy`, coverage flags...), its jobserver,
/// and what cargo tells build scripts about the outer package.
fn outer_only(name: &str) -> bool {
    const NAMES: &[&str] = &[
        "RUSTC_WORKSPACE_WRAPPER",
        "RUSTC_WRAPPER",
        "CARGO_ENCODED_RUSTFLAGS",
        "RUSTFLAGS",
        "CARGO_TARGET_DIR",
        "CARGO_BUILD_TARGET",
        "CARGO_BUILD_TARGET_DIR",
        "CARGO_BUILD_RUSTFLAGS",
        "CARGO_BUILD_RUSTC_WRAPPER",
        "CARGO_BUILD_RUSTC_WORKSPACE_WRAPPER",
        "CARGO_MAKEFLAGS",
        "MAKEFLAGS",
        "MFLAGS",
        "CARGO_PRIMARY_PACKAGE",
        "CARGO_MANIFEST_DIR",
        "CARGO_MANIFEST_PATH",
        "CARGO_MANIFEST_LINKS",
        "OUT_DIR",
        "TARGET",
        "HOST",
        "PROFILE",
        "OPT_LEVEL",
        "DEBUG",
        "NUM_JOBS",
        "RUSTC_LINKER",
        "RUSTDOC",
    ];
    const PREFIXES: &[&str] = &["CARGO_CFG_", "CARGO_FEATURE_", "CARGO_PKG_", "DEP_"];
    NAMES.contains(&name) || PREFIXES.iter().any(|p| name.starts_with(p))
}

/// Builds the policies to wasm in `target_dir` and returns the folder
/// holding `<crate_name>.wasm`.
fn build_policies(
    workspace: &Path,
    target_dir: &Path,
    names: &[String],
) -> Result<PathBuf, String> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(&cargo);
    command
        .current_dir(workspace)
        .args(["build", "--profile", WASM_PROFILE, "--target", WASM_TARGET])
        .arg("--target-dir")
        .arg(target_dir);
    for name in names {
        command.args(["-p", name]);
    }
    for (key, _) in std::env::vars_os() {
        if key.to_str().is_some_and(outer_only) {
            command.env_remove(&key);
        }
    }
    let status = command.status().map_err(|e| {
        format!(
            "cannot run {} to build the policies: {e}",
            Path::new(&cargo).display()
        )
    })?;
    if !status.success() {
        return Err(format!(
            "building the policies to {WASM_TARGET} failed ({status}; cargo's messages are above). \
             Is the target installed (`rustup target add {WASM_TARGET}`)? Or run `make build` \
             and set {WASM_DIR_ENV}=<workspace>/target/policies to embed those modules"
        ));
    }
    Ok(target_dir.join(WASM_TARGET).join(WASM_PROFILE))
}

fn modified(path: &Path) -> Option<SystemTime> {
    fs::metadata(path).and_then(|m| m.modified()).ok()
}

/// The newest modification time of `path` or, for a folder, of anything
/// in it.
fn newest(path: &Path) -> Option<SystemTime> {
    let own = modified(path);
    match fs::read_dir(path) {
        Ok(entries) => entries
            .filter_map(Result::ok)
            .map(|e| newest(&e.path()))
            .fold(own, std::cmp::max),
        Err(_) => own,
    }
}

/// Writes `bytes` to `path` unless it already holds them: an unchanged
/// file keeps its mtime, so cargo does not recompile the crate that
/// `include_bytes!` it.
fn write_if_changed(path: &Path, bytes: &[u8]) -> Result<(), String> {
    if fs::read(path).is_ok_and(|old| old == bytes) {
        return Ok(());
    }
    fs::write(path, bytes).map_err(|e| format!("writing {}: {e}", path.display()))
}

fn copy(from: &Path, to: &Path, missing: &str) -> Result<(), String> {
    if !from.is_file() {
        return Err(format!("{} is missing: {missing}", from.display()));
    }
    let bytes = fs::read(from).map_err(|e| format!("reading {}: {e}", from.display()))?;
    write_if_changed(to, &bytes)
}

fn main() -> Result<(), String> {
    let manifest_dir = env_path("CARGO_MANIFEST_DIR")?;
    let out_dir = env_path("OUT_DIR")?;
    let workspace = manifest_dir.join("../..");
    let policies_dir = workspace.join("policies");

    // Sources of the modules and of the embedded metadata.yml files (a
    // folder is scanned whole by cargo). The lock file, the workspace
    // manifest and the toolchain file hold the policies' dependencies, the
    // `wasm` profile and the compiler.
    println!("cargo::rerun-if-env-changed={WASM_DIR_ENV}");
    let sources = [
        policies_dir.clone(),
        workspace.join("shared/gpu-policy-core/src"),
        workspace.join("shared/gpu-policy-core/Cargo.toml"),
        workspace.join("Cargo.toml"),
        workspace.join("Cargo.lock"),
        workspace.join("rust-toolchain.toml"),
    ];
    for path in &sources {
        println!("cargo::rerun-if-changed={}", path.display());
    }

    let names = policies(&policies_dir)?;
    let prebuilt = std::env::var_os(WASM_DIR_ENV)
        .filter(|d| !d.is_empty())
        .map(|d| workspace.join(d));
    let (wasm_dir, wasm_file, missing): (PathBuf, fn(&str) -> String, String) = match &prebuilt {
        Some(dir) => {
            let files: Vec<PathBuf> = names
                .iter()
                .map(|name| dir.join(format!("{name}.wasm")))
                .collect();
            // `make build` copies the modules afresh every time, so watching
            // the copies would relink this binary on every `make check`; the
            // sources above are watched instead. Copies older than the
            // sources were not rebuilt after a change: say so, and watch
            // them until the next build replaces them.
            let newest_source = sources.iter().filter_map(|p| newest(p)).max();
            if files.iter().any(|f| modified(f) < newest_source) {
                println!(
                    "cargo::warning=the modules in {} are older than the policy sources: \
                     embedding them anyway; run `make build` to embed current ones",
                    dir.display()
                );
                for file in &files {
                    println!("cargo::rerun-if-changed={}", file.display());
                }
            }
            let missing = format!(
                "{WASM_DIR_ENV} points at {} but it does not hold every policy: run `make build` \
                 first, or unset {WASM_DIR_ENV} to have this build compile them",
                dir.display()
            );
            (dir.clone(), |name| format!("{name}.wasm"), missing)
        }
        None => {
            // Inside the outer target folder (so `cargo clean` removes it and
            // the debug, release and clippy builds share it), never the
            // outer folder itself: OUT_DIR is
            // <target>/<profile>/build/<pkg>-<hash>/out.
            let outer = out_dir.ancestors().nth(4).unwrap_or(&out_dir);
            let target_dir = outer.join("embedded-policies");
            let built = build_policies(&workspace, &target_dir, &names)?;
            let missing = "the nested cargo build did not produce it".to_owned();
            (
                built,
                |name| format!("{}.wasm", name.replace('-', "_")),
                missing,
            )
        }
    };

    let mut table = String::from(
        "/// The policies built into this binary: every crate under `policies/`,\n\
         /// in folder (name) order. Generated by build.rs.\n\
         pub static EMBEDDED: &[EmbeddedPolicy] = &[\n",
    );
    for name in &names {
        let wasm = out_dir.join(format!("{name}.wasm"));
        let metadata = out_dir.join(format!("{name}.metadata.yml"));
        copy(&wasm_dir.join(wasm_file(name)), &wasm, &missing)?;
        copy(
            &policies_dir.join(name).join("metadata.yml"),
            &metadata,
            "every policy needs its metadata.yml",
        )?;
        let literal = |p: &Path| {
            p.to_str()
                .map(|s| format!("{s:?}"))
                .ok_or_else(|| format!("{} is not UTF-8", p.display()))
        };
        let _ = writeln!(
            table,
            "    EmbeddedPolicy {{ name: {name:?}, wasm: include_bytes!({}), metadata_yml: include_str!({}) }},",
            literal(&wasm)?,
            literal(&metadata)?
        );
    }
    table.push_str("];\n");
    write_if_changed(&out_dir.join("embedded.rs"), table.as_bytes())
}
