//! Compiled modules kept on disk, so a tool that runs the same policies
//! again starts in milliseconds instead of recompiling them with cranelift.
//!
//! An entry is `<dir>/<module sha256>-<engine key>.cwasm`: a header (magic,
//! format, engine key, module SHA-256, payload length and SHA-256) followed
//! by the module as `Module::serialize` writes it. The engine key is the
//! SHA-256 of the wasmtime version and of
//! `Engine::precompile_compatibility_hash` (target, compiler flags, tunables,
//! wasm features), so another wasmtime or configuration never reads it.
//!
//! Nothing read back is trusted blindly: an entry whose header or checksum
//! does not match, that cannot be read, or that wasmtime refuses, is
//! recompiled and rewritten (atomically: a temporary file in the same folder,
//! then a rename). A cache that cannot be written means no cache, never an
//! error.

use std::ffi::OsString;
use std::fmt::{self, Write as _};
use std::fs;
use std::hash::{Hash, Hasher};
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::{Result, anyhow};
use sha2::{Digest, Sha256};
use wasmtime::{Config, Engine, Module};

/// The wasmtime this crate is built against (pinned in Cargo.toml; a unit
/// test keeps the two equal). Part of the engine key, next to the
/// compatibility hash (which also covers it), so entries of another version
/// are never even opened.
pub const WASMTIME_VERSION: &str = "48.0.8";

const MAGIC: &[u8; 8] = b"GPCCWASM";
const FORMAT: u32 = 1;
/// The header's fields in order (magic, format, engine key, module hash,
/// payload length, payload hash): their sizes, and what an entry whose field
/// differs from this cache's is.
const HEADER_FIELDS: [(usize, &str); 6] = [
    (8, "not a policy-runner cache entry"),
    (4, "another entry format"),
    (32, "made by another wasmtime or configuration"),
    (32, "made for another module"),
    (8, "truncated or extended"),
    (32, "checksum mismatch"),
];
const HEADER_LEN: usize = 8 + 4 + 32 + 32 + 8 + 32;

type Digest32 = [u8; 32];

/// What the cache did for one module.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CacheStatus {
    /// No cache folder: compiled in memory.
    Disabled,
    /// Loaded from a verified entry; nothing was compiled.
    Hit,
    /// There was no entry: compiled and stored.
    Stored,
    /// The entry was rejected (the reason): compiled and rewritten.
    Replaced(String),
    /// Compiled, but no entry could be written (`reason`); `rejected` says
    /// why an existing entry was not used, if there was one.
    NotStored {
        rejected: Option<String>,
        reason: String,
    },
}

/// wasmtime's configuration as policy-server sets it: the defaults, with
/// epoch interruption on (policy-server's policy timeout, on unless
/// `--disable-timeout-protection`), so that a policy is compiled with the
/// same checks it runs with there. Nothing advances the epoch here: no call
/// is ever interrupted.
pub fn engine_config() -> Config {
    let mut config = Config::default();
    config.epoch_interruption(true);
    config
}

/// One wasmtime engine ([`engine_config`]) and, optionally, the folder where
/// its compiled modules are kept. Share it between threads and modules.
#[derive(Clone)]
pub struct ModuleCache {
    engine: Engine,
    dir: Option<PathBuf>,
    engine_key: Digest32,
}

impl fmt::Debug for ModuleCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ModuleCache")
            .field("dir", &self.dir)
            .field("engine_key", &hex(&self.engine_key))
            .finish_non_exhaustive()
    }
}

impl ModuleCache {
    /// Keeps compiled modules in `dir` (created when first written).
    pub fn in_dir(dir: impl Into<PathBuf>) -> Result<Self> {
        Self::new(Some(dir.into()))
    }

    /// Compiles every time, keeps nothing.
    pub fn disabled() -> Result<Self> {
        Self::new(None)
    }

    /// [`in_dir`](Self::in_dir) with `Some`, [`disabled`](Self::disabled) with `None`.
    pub fn new(dir: Option<PathBuf>) -> Result<Self> {
        let engine = Engine::new(&engine_config())
            .map_err(|e| anyhow!("cannot create the wasmtime engine: {e:#}"))?;
        let mut key = Sha256Hasher(Sha256::new());
        key.write(b"wasmtime ");
        key.write(WASMTIME_VERSION.as_bytes());
        engine.precompile_compatibility_hash().hash(&mut key);
        let engine_key = key.0.finalize().into();
        Ok(Self {
            engine,
            dir,
            engine_key,
        })
    }

    /// The engine every module of this cache is compiled with.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// The cache folder, if any.
    pub fn dir(&self) -> Option<&Path> {
        self.dir.as_deref()
    }

    /// Where the entry for `wasm` is (or would be) kept.
    pub fn entry_path(&self, wasm: &[u8]) -> Option<PathBuf> {
        let dir = self.dir.as_ref()?;
        Some(dir.join(entry_name(&sha256(wasm), &self.engine_key)))
    }

    /// The compiled module for `wasm`: from a verified entry, else compiled
    /// (and stored when possible). Only a module that does not compile is an
    /// error.
    pub fn load(&self, wasm: &[u8]) -> Result<(Module, CacheStatus)> {
        let Some(dir) = &self.dir else {
            return Ok((self.compile(wasm)?, CacheStatus::Disabled));
        };
        if let Err(reason) = private_dir(dir, false) {
            let module = self.compile(wasm)?;
            let status = CacheStatus::NotStored {
                rejected: None,
                reason,
            };
            return Ok((module, status));
        }
        let module_hash = sha256(wasm);
        let path = dir.join(entry_name(&module_hash, &self.engine_key));
        let rejected = match fs::read(&path) {
            Ok(entry) => match self.verified_payload(&entry, &module_hash) {
                // SAFETY: `Module::deserialize` must only see bytes that
                // `Module::serialize` produced. These bytes are exactly what
                // this module wrote for this very wasm (the header names its
                // SHA-256): their SHA-256 was checked against the header just
                // now, after the file was read whole into memory, so neither
                // corruption nor a later change of the file reaches wasmtime.
                // The folder is the user's own (and not used when others may
                // write to it, see `private_dir`), and the engine key in the
                // name and header, plus wasmtime's own version and
                // configuration checks in `deserialize`, rule out an entry
                // made by another wasmtime or configuration.
                Ok(payload) => match unsafe { Module::deserialize(&self.engine, payload) } {
                    Ok(module) => return Ok((module, CacheStatus::Hit)),
                    Err(e) => Some(format!("wasmtime refused the entry: {e}")),
                },
                Err(why) => Some(why),
            },
            Err(e) if e.kind() == io::ErrorKind::NotFound => None,
            Err(e) => Some(format!("cannot read the entry: {e}")),
        };
        let module = self.compile(wasm)?;
        let stored = module
            .serialize()
            .map_err(|e| format!("cannot serialize the module: {e}"))
            .and_then(|payload| {
                let entry = self.entry(&module_hash, &payload);
                write_entry(dir, &path, &entry)
            });
        let status = match (stored, rejected) {
            (Ok(()), None) => CacheStatus::Stored,
            (Ok(()), Some(why)) => CacheStatus::Replaced(why),
            (Err(reason), rejected) => CacheStatus::NotStored { rejected, reason },
        };
        Ok((module, status))
    }

    fn compile(&self, wasm: &[u8]) -> Result<Module> {
        // wasmtime's own error type: keep its whole chain in the message.
        Module::new(&self.engine, wasm).map_err(|e| anyhow!("{e:#}"))
    }

    /// The payload of `entry` when its header is the one [`Self::entry`]
    /// writes here for that payload and `module_hash`; else why not.
    fn verified_payload<'a>(
        &self,
        entry: &'a [u8],
        module_hash: &Digest32,
    ) -> Result<&'a [u8], String> {
        let (header, payload) = entry.split_at_checked(HEADER_LEN).unwrap_or((entry, &[]));
        let expected = self.header(module_hash, payload);
        let why = match header.iter().zip(&expected).position(|(a, b)| a != b) {
            Some(at) => {
                let mut end = 0;
                HEADER_FIELDS
                    .iter()
                    .find(|(len, _)| {
                        end += len;
                        at < end
                    })
                    .map_or("checksum mismatch", |(_, why)| *why)
            }
            None if header.len() < MAGIC.len() => "no header",
            None if header.len() < HEADER_LEN => "truncated header",
            None => return Ok(payload),
        };
        Err(format!("{why} (entry of {} bytes)", entry.len()))
    }

    /// The header of the entry of `payload`, field by field as
    /// [`HEADER_FIELDS`] lists them.
    fn header(&self, module_hash: &Digest32, payload: &[u8]) -> Vec<u8> {
        [
            MAGIC.as_slice(),
            &FORMAT.to_le_bytes(),
            &self.engine_key,
            module_hash,
            &(payload.len() as u64).to_le_bytes(),
            &sha256(payload),
        ]
        .concat()
    }

    fn entry(&self, module_hash: &Digest32, payload: &[u8]) -> Vec<u8> {
        [self.header(module_hash, payload).as_slice(), payload].concat()
    }
}

/// `$XDG_CACHE_HOME/<app>`, else `$HOME/.cache/<app>` (XDG base directory
/// rules: a relative `XDG_CACHE_HOME` is ignored).
pub fn user_cache_dir(app: &str) -> Option<PathBuf> {
    cache_dir_from(
        std::env::var_os("XDG_CACHE_HOME"),
        std::env::var_os("HOME"),
        app,
    )
}

fn cache_dir_from(
    xdg_cache_home: Option<OsString>,
    home: Option<OsString>,
    app: &str,
) -> Option<PathBuf> {
    let absolute = |p: Option<OsString>| p.map(PathBuf::from).filter(|p| p.is_absolute());
    let base = absolute(xdg_cache_home).or_else(|| absolute(home).map(|h| h.join(".cache")))?;
    Some(base.join(app))
}

fn entry_name(module_hash: &Digest32, engine_key: &Digest32) -> String {
    // The first 8 bytes of the engine key tell engines apart in the name;
    // the header holds (and is checked against) the whole key.
    let short = engine_key.get(..8).unwrap_or(engine_key);
    format!("{}-{}.cwasm", hex(module_hash), hex(short))
}

/// Writes `entry` to `path` atomically: readers see the old file or the
/// whole new one, never a partial write.
fn write_entry(dir: &Path, path: &Path, entry: &[u8]) -> Result<(), String> {
    private_dir(dir, true)?;
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let temp = dir.join(format!(
        ".{name}.{}.{}.tmp",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let written = create_private(&temp)
        .and_then(|mut file| file.write_all(entry))
        .and_then(|()| fs::rename(&temp, path));
    written.map_err(|e| {
        let _ = fs::remove_file(&temp);
        format!("cannot write {}: {e}", path.display())
    })
}

/// Checks that nobody but its owner may write to the cache folder (an
/// entry put there by someone else would be run as trusted machine code);
/// with `create`, creates it first, for the user only. A folder that does
/// not exist yet passes: it holds no entry.
fn private_dir(dir: &Path, create: bool) -> Result<(), String> {
    if create {
        let mut builder = fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        builder
            .create(dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    let metadata = match fs::metadata(dir) {
        Ok(metadata) => metadata,
        Err(e) if !create && e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(format!("cannot read {}: {e}", dir.display())),
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if metadata.permissions().mode() & 0o002 != 0 {
            return Err(format!(
                "{} is writable by every user; not used as a cache",
                dir.display()
            ));
        }
    }
    #[cfg(not(unix))]
    let _ = metadata;
    Ok(())
}

fn create_private(path: &Path) -> io::Result<fs::File> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)
}

fn sha256(bytes: &[u8]) -> Digest32 {
    Sha256::digest(bytes).into()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// Feeds a `Hash` implementation into SHA-256: a key that is stable across
/// runs and Rust versions, unlike `DefaultHasher`'s.
struct Sha256Hasher(Sha256);

impl Hasher for Sha256Hasher {
    fn write(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }

    /// Unused: the key is the SHA-256 digest, taken with `finalize`.
    fn finish(&self) -> u64 {
        0
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

    use super::*;
    use crate::{CompiledPolicy, PolicyOptions, ValidationResponse};

    /// The smallest waPC guest: answers every operation with its payload.
    /// Text, so the tests need no built policy (wasmtime reads WAT).
    const ECHO: &str = r#"(module
        (import "wapc" "__guest_request" (func $request (param i32 i32)))
        (import "wapc" "__guest_response" (func $response (param i32 i32)))
        (memory (export "memory") 1)
        (func (export "__guest_call") (param $op_len i32) (param $payload_len i32) (result i32)
          (call $request (i32.const 0) (i32.const 1024))
          (call $response (i32.const 1024) (local.get $payload_len))
          (i32.const 1)))"#;

    const PAYLOAD: &[u8] = br#"{"accepted":false,"message":"echoed by the guest"}"#;

    fn answer(cache: &ModuleCache) -> (ValidationResponse, CacheStatus) {
        let compiled = CompiledPolicy::from_bytes_cached(ECHO.as_bytes(), "echo", cache).unwrap();
        let status = compiled.cache_status().cloned().unwrap();
        let runner = compiled.instantiate(PolicyOptions::default()).unwrap();
        (runner.validate_raw(PAYLOAD).unwrap(), status)
    }

    fn expected() -> ValidationResponse {
        serde_json::from_slice(PAYLOAD).unwrap()
    }

    #[test]
    fn cold_load_stores_and_warm_load_reads_the_entry() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("nested/cache");
        let cold = ModuleCache::in_dir(&dir).unwrap();
        let path = cold.entry_path(ECHO.as_bytes()).unwrap();
        assert!(!path.exists());

        let (response, status) = answer(&cold);
        assert_eq!(status, CacheStatus::Stored);
        assert_eq!(response, expected());
        let entry = fs::read(&path).unwrap();
        assert_eq!(&entry[..8], MAGIC);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(
                fs::metadata(&dir).unwrap().permissions().mode() & 0o777,
                0o700
            );
            assert_eq!(
                fs::metadata(&path).unwrap().permissions().mode() & 0o777,
                0o600
            );
        }

        // A new engine (as in the next run of a tool) uses the entry as is.
        let warm = ModuleCache::in_dir(&dir).unwrap();
        let (response, status) = answer(&warm);
        assert_eq!(status, CacheStatus::Hit);
        assert_eq!(response, expected());
        assert_eq!(fs::read(&path).unwrap(), entry);
        // Only the entry: no temporary file left behind.
        assert_eq!(fs::read_dir(&dir).unwrap().count(), 1);

        let (response, status) = answer(&ModuleCache::disabled().unwrap());
        assert_eq!(status, CacheStatus::Disabled);
        assert_eq!(response, expected());
    }

    #[test]
    fn the_header_is_its_field_table() {
        let fields: usize = HEADER_FIELDS.iter().map(|(len, _)| len).sum();
        assert_eq!(fields, HEADER_LEN);
        let cache = ModuleCache::disabled().unwrap();
        assert_eq!(cache.header(&sha256(b"m"), b"payload").len(), HEADER_LEN);
    }

    #[test]
    fn bad_entries_are_recompiled_and_rewritten() {
        let tmp = tempfile::tempdir().unwrap();
        let cache = ModuleCache::in_dir(tmp.path()).unwrap();
        let path = cache.entry_path(ECHO.as_bytes()).unwrap();
        answer(&cache);
        let good = fs::read(&path).unwrap();

        // A real wasmtime artifact, from an engine whose configuration
        // differs, under a header and checksum that match: wasmtime's own
        // checks must refuse it.
        let mut fuel = Config::default();
        fuel.consume_fuel(true);
        let other = Engine::new(&fuel).unwrap();
        let foreign = Module::new(&other, ECHO).unwrap().serialize().unwrap();
        let foreign = cache.entry(&sha256(ECHO.as_bytes()), &foreign);

        let flip = |at: usize| {
            let mut e = good.clone();
            e[at] ^= 0x40;
            e
        };
        let other_module = cache.entry(&sha256(b"(module)"), &good[HEADER_LEN..]);
        let cases: Vec<(&str, Vec<u8>, &str)> = vec![
            ("empty file", Vec::new(), "no header"),
            ("magic", flip(0), "not a policy-runner cache entry"),
            ("format", flip(8), "another entry format"),
            ("engine key", flip(12), "another wasmtime or configuration"),
            ("module hash", flip(44), "made for another module"),
            ("header cut short", good[..50].to_vec(), "truncated header"),
            (
                "payload truncated",
                good[..good.len() - 1].to_vec(),
                "truncated or extended",
            ),
            (
                "payload extended",
                [good.as_slice(), b"x"].concat(),
                "truncated or extended",
            ),
            (
                "payload byte flipped",
                flip(HEADER_LEN + 100),
                "checksum mismatch",
            ),
            (
                "last byte flipped",
                flip(good.len() - 1),
                "checksum mismatch",
            ),
            (
                "checksum flipped",
                flip(HEADER_LEN - 1),
                "checksum mismatch",
            ),
            (
                "entry of another module",
                other_module,
                "made for another module",
            ),
            (
                "another configuration",
                foreign,
                "wasmtime refused the entry",
            ),
        ];
        for (what, bytes, reason) in cases {
            fs::write(&path, &bytes).unwrap();
            let (response, status) = answer(&cache);
            match &status {
                CacheStatus::Replaced(why) => assert!(why.contains(reason), "{what}: {why}"),
                other => panic!("{what}: {other:?}"),
            }
            assert_eq!(response, expected(), "{what}");
            assert_eq!(fs::read(&path).unwrap(), good, "{what}: not rewritten");
            assert_eq!(answer(&cache).1, CacheStatus::Hit, "{what}");
        }
    }

    #[test]
    fn a_cache_that_cannot_be_used_only_costs_a_compile() {
        let tmp = tempfile::tempdir().unwrap();

        // The folder cannot be created: its parent is a file.
        let file = tmp.path().join("file");
        fs::write(&file, b"").unwrap();
        let dir = file.join("cache");
        let (response, status) = answer(&ModuleCache::in_dir(&dir).unwrap());
        assert_eq!(response, expected());
        let named = dir.display().to_string();
        assert!(
            matches!(&status, CacheStatus::NotStored { rejected: None, reason } if reason.contains(&named)),
            "{status:?}"
        );

        // The entry can be neither read nor replaced: a folder is in its place.
        let cache = ModuleCache::in_dir(tmp.path().join("blocked")).unwrap();
        let path = cache.entry_path(ECHO.as_bytes()).unwrap();
        fs::create_dir_all(path.join("in-the-way")).unwrap();
        let (response, status) = answer(&cache);
        assert_eq!(response, expected());
        assert!(
            matches!(&status, CacheStatus::NotStored { rejected: Some(why), reason }
                if why.contains("cannot read") && reason.contains("cannot write")),
            "{status:?}"
        );
        assert!(path.is_dir());
        // The temporary file was removed.
        assert_eq!(fs::read_dir(path.parent().unwrap()).unwrap().count(), 1);
    }

    #[cfg(unix)]
    #[test]
    fn a_folder_everyone_may_write_to_is_not_used() {
        use std::os::unix::fs::PermissionsExt;
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("shared");
        let cache = ModuleCache::in_dir(&dir).unwrap();
        answer(&cache);
        let path = cache.entry_path(ECHO.as_bytes()).unwrap();
        let entry = fs::read(&path).unwrap();
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o777)).unwrap();
        // Even a perfect entry is neither read nor replaced there.
        let (response, status) = answer(&cache);
        assert_eq!(response, expected());
        assert!(
            matches!(&status, CacheStatus::NotStored { rejected: None, reason } if reason.contains("writable by every user")),
            "{status:?}"
        );
        assert_eq!(fs::read(&path).unwrap(), entry);
    }

    #[test]
    fn modules_that_do_not_compile_are_errors() {
        let tmp = tempfile::tempdir().unwrap();
        let cache = ModuleCache::in_dir(tmp.path()).unwrap();
        let err = CompiledPolicy::from_bytes_cached(b"\0asm\x01\0\0\0(", "broken.wasm", &cache)
            .unwrap_err();
        let text = format!("{err:#}");
        assert!(
            text.contains("cannot compile policy module broken.wasm"),
            "{text}"
        );
        assert_eq!(fs::read_dir(tmp.path()).unwrap().count(), 0);
    }

    #[test]
    fn engine_key_is_stable_and_names_the_entry() {
        let a = ModuleCache::disabled().unwrap();
        let b = ModuleCache::in_dir("/x").unwrap();
        assert_eq!(a.engine_key, b.engine_key);
        let name = b.entry_path(b"wasm").unwrap();
        let name = name.file_name().unwrap().to_str().unwrap();
        assert_eq!(name.len(), 64 + 1 + 16 + ".cwasm".len(), "{name}");
        assert!(name.starts_with(&hex(&sha256(b"wasm"))), "{name}");
        assert!(name.contains(&hex(&a.engine_key[..8])), "{name}");
    }

    #[test]
    fn wasmtime_version_is_the_locked_one() {
        let lock =
            fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../Cargo.lock")).unwrap();
        let locked = lock
            .split("[[package]]")
            .find(|p| p.contains("\nname = \"wasmtime\"\n"))
            .and_then(|p| p.lines().find_map(|l| l.strip_prefix("version = ")))
            .expect("wasmtime in Cargo.lock");
        assert_eq!(locked.trim_matches('"'), WASMTIME_VERSION);
    }

    #[test]
    fn user_cache_dir_follows_xdg() {
        let dir = |xdg: Option<&str>, home: Option<&str>| {
            cache_dir_from(xdg.map(Into::into), home.map(Into::into), "tool")
        };
        assert_eq!(dir(Some("/c"), Some("/h")), Some("/c/tool".into()));
        assert_eq!(
            dir(Some("relative"), Some("/h")),
            Some("/h/.cache/tool".into())
        );
        assert_eq!(dir(None, Some("/h")), Some("/h/.cache/tool".into()));
        assert_eq!(dir(None, Some("")), None);
        assert_eq!(dir(None, None), None);
    }
}
