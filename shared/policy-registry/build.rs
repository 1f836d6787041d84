//! Generates `POLICIES` (`$OUT_DIR/policies.rs`): one entry per crate under
//! `policies/`, in folder order. The folders are the list; this crate's
//! Cargo.toml must have a dependency line for each, and a folder without one
//! is a compile error that names the crate and the line to add.

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

fn read_toml(path: &Path) -> Result<toml::Table, String> {
    let text = fs::read_to_string(path).map_err(|e| format!("reading {}: {e}", path.display()))?;
    toml::from_str(&text).map_err(|e| format!("parsing {}: {e}", path.display()))
}

fn canonical(path: &Path) -> PathBuf {
    fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
}

/// What goes into the generated file for one folder under `policies/`.
enum Entry {
    /// `crate_ident::POLICY`.
    Policy(String),
    /// A `compile_error!` message.
    Error(String),
}

fn entry(folder: &Path, dependencies: &toml::Table, manifest_dir: &Path) -> Result<Entry, String> {
    let manifest = read_toml(&folder.join("Cargo.toml"))?;
    let dir = folder
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default();
    let Some(name) = manifest
        .get("package")
        .and_then(|p| p.get("name"))
        .and_then(toml::Value::as_str)
    else {
        return Ok(Entry::Error(format!(
            "policies/{dir}/Cargo.toml has no [package] name"
        )));
    };
    if name != dir {
        return Ok(Entry::Error(format!(
            "policies/{dir} holds crate `{name}`: a policy's folder, crate and module share one name"
        )));
    }
    let points_here = dependencies
        .get(name)
        .and_then(|d| d.get("path"))
        .and_then(toml::Value::as_str)
        .is_some_and(|p| canonical(&manifest_dir.join(p)) == canonical(folder));
    Ok(if points_here {
        Entry::Policy(name.replace('-', "_"))
    } else {
        Entry::Error(format!(
            "policy crate `{name}` (policies/{name}) is missing from the registry: add \
             `{name} = {{ path = \"../../policies/{name}\" }}` to [dependencies] in \
             shared/policy-registry/Cargo.toml"
        ))
    })
}

fn main() -> Result<(), String> {
    let manifest_dir =
        PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").map_err(|e| e.to_string())?);
    let out_dir = PathBuf::from(std::env::var("OUT_DIR").map_err(|e| e.to_string())?);
    let policies_dir = manifest_dir.join("../../policies");
    // A directory is scanned as a whole: a new or removed policy folder (or
    // a renamed crate) regenerates the list.
    println!("cargo::rerun-if-changed={}", policies_dir.display());
    println!("cargo::rerun-if-changed=Cargo.toml");

    let own = read_toml(&manifest_dir.join("Cargo.toml"))?;
    let dependencies = own
        .get("dependencies")
        .and_then(toml::Value::as_table)
        .cloned()
        .unwrap_or_default();
    let mut folders: Vec<PathBuf> = fs::read_dir(&policies_dir)
        .map_err(|e| format!("reading {}: {e}", policies_dir.display()))?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.join("Cargo.toml").is_file())
        .collect();
    folders.sort();

    let mut code = String::from(
        "/// Every policy crate under `policies/`, in folder (name) order.\n\
         pub const POLICIES: &[gpu_policy_core::PolicyInfo] = &[\n",
    );
    let mut errors = String::new();
    for folder in &folders {
        match entry(folder, &dependencies, &manifest_dir)? {
            Entry::Policy(ident) => {
                let _ = writeln!(code, "    {ident}::POLICY,");
            }
            Entry::Error(message) => {
                let _ = writeln!(errors, "compile_error!({message:?});");
            }
        }
    }
    code.push_str("];\n");
    code.push_str(&errors);
    let out = out_dir.join("policies.rs");
    fs::write(&out, code).map_err(|e| format!("writing {}: {e}", out.display()))
}
