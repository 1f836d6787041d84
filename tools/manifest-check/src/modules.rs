//! Where the policy modules come from: built into the binary (build.rs
//! embeds every policy's `.wasm` and metadata.yml), or a folder given with
//! `--wasm-dir` / `POLICY_WASM_DIR`; and the compiled-module cache.

use std::borrow::Cow;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow};
use policy_runner::{CompiledPolicy, ModuleCache};

use crate::config::Wasm;

/// One policy built into the binary.
#[derive(Debug)]
pub struct EmbeddedPolicy {
    /// The policy's (folder, crate and module) name.
    pub name: &'static str,
    /// Its wasm32-wasip1 module.
    pub wasm: &'static [u8],
    /// Its `policies/<name>/metadata.yml`.
    pub metadata_yml: &'static str,
}

include!(concat!(env!("OUT_DIR"), "/embedded.rs"));

/// The policy named `name` as built into the binary.
pub fn embedded(name: &str) -> Option<&'static EmbeddedPolicy> {
    EMBEDDED.iter().find(|p| p.name == name)
}

/// Where the project's policy modules are read from (`file://` modules are
/// always read from their path).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModuleSource {
    /// The modules built into the binary.
    Embedded,
    /// `<dir>/<policy>.wasm`.
    Dir(PathBuf),
}

impl ModuleSource {
    /// The file `wasm` is read from, `None` for a built-in module.
    pub fn path(&self, wasm: &Wasm) -> Option<PathBuf> {
        match (self, wasm) {
            (_, Wasm::File(path)) => Some(path.clone()),
            (Self::Dir(dir), project) => Some(project.path(dir)),
            (Self::Embedded, Wasm::Project(_)) => None,
        }
    }

    /// How `wasm` is named in messages.
    pub fn label(&self, wasm: &Wasm) -> String {
        match (self, wasm) {
            (Self::Embedded, Wasm::Project(name)) => format!("{name} (built in)"),
            (Self::Dir(dir), wasm) => wasm.path(dir).display().to_string(),
            (Self::Embedded, Wasm::File(path)) => path.display().to_string(),
        }
    }

    /// The bytes of `wasm`.
    pub fn bytes(&self, wasm: &Wasm) -> Result<Cow<'static, [u8]>> {
        match (self.path(wasm), wasm) {
            (Some(path), _) => std::fs::read(&path)
                .map(Cow::Owned)
                .with_context(|| format!("cannot read policy module {}", path.display())),
            (None, Wasm::Project(name)) => embedded(name)
                .map(|p| Cow::Borrowed(p.wasm))
                .ok_or_else(|| anyhow!("policy {name} is not built into this binary")),
            (None, Wasm::File(path)) => Err(anyhow!("no module for {}", path.display())),
        }
    }

    /// Reads and loads `wasm` through `cache`.
    pub fn load(&self, wasm: &Wasm, cache: &ModuleCache) -> Result<CompiledPolicy> {
        CompiledPolicy::from_bytes_cached(&self.bytes(wasm)?, &self.label(wasm), cache)
    }
}

/// Overrides the cache folder (`--cache-dir` wins).
pub const CACHE_DIR_ENV: &str = "GPU_POLICY_CHECK_CACHE_DIR";

/// The cache folder for a run: none with `--no-cache`, else `--cache-dir`,
/// else `$GPU_POLICY_CHECK_CACHE_DIR` (an empty one counts as unset), else
/// the user's cache folder (`$XDG_CACHE_HOME` or `~/.cache`, then
/// `gpu-policy-check`).
pub fn cache_dir(no_cache: bool, dir: Option<&Path>) -> Option<PathBuf> {
    if no_cache {
        return None;
    }
    dir.map(Path::to_path_buf)
        .or_else(|| {
            std::env::var_os(CACHE_DIR_ENV)
                .filter(|d| !d.is_empty())
                .map(PathBuf::from)
        })
        .or_else(|| policy_runner::cache::user_cache_dir("gpu-policy-check"))
}
