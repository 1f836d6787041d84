//! Command-line interface: arguments, the run from input to report, and
//! exit codes.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result};
use clap::Parser;

use crate::cluster::offline_cluster;
use crate::evaluate::Engine;
use crate::progress::Progress;
use crate::report::{self, Format, TableOptions};
use crate::{config, exit, input};

/// Check Kubernetes manifests against the GPU policies, offline.
///
/// Every object is sent, as a CREATE AdmissionRequest, through the built
/// policy .wasm modules in the same waPC host the tests use. Context-aware
/// lookups (Namespaces, NetworkPolicies, ResourceQuotas) are answered from
/// the input itself, as if it had all been applied.
#[derive(Debug, Parser)]
#[command(
    name = "gpu-policy-check",
    version,
    after_help = "Exit status: 0 everything accepted (monitor-mode rejections included), \
1 something rejected, 2 usage, input or setup error.\n\
Sources are shown as file#document (documents counted from 0), with .items[i] for List items."
)]
pub struct Cli {
    /// Files or folders of Kubernetes YAML/JSON (folders are read
    /// recursively: *.yaml, *.yml, *.json); `-` reads stdin.
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,

    /// Folder holding the built <policy>.wasm modules
    /// [default: target/policies in the workspace root]
    #[arg(long, env = "POLICY_WASM_DIR", value_name = "DIR")]
    pub wasm_dir: Option<PathBuf>,

    /// ClusterAdmissionPolicy / ClusterAdmissionPolicyGroup manifests (file
    /// or folder) to take settings, rules, selectors and mode from, instead
    /// of every project policy with default settings.
    #[arg(long, value_name = "PATH")]
    pub policies: Option<PathBuf>,

    /// Report format.
    #[arg(long, short, value_enum, default_value_t = Format::Table)]
    pub output: Format,

    /// Write the report to this file instead of stdout.
    #[arg(long, value_name = "FILE")]
    pub output_file: Option<PathBuf>,
}

/// The workspace root: the nearest ancestor of the current directory with a
/// `policies/` folder and a Cargo.toml, else where this tool was built from.
pub fn workspace_root() -> PathBuf {
    let is_root = |dir: &Path| dir.join("policies").is_dir() && dir.join("Cargo.toml").is_file();
    if let Ok(cwd) = std::env::current_dir()
        && let Some(root) = cwd.ancestors().find(|d| is_root(d))
    {
        return root.to_path_buf();
    }
    let built_from = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    if is_root(&built_from) {
        return built_from;
    }
    PathBuf::from(".")
}

/// Parses the arguments, runs, and returns the exit code.
pub fn main() -> u8 {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // --help / --version print and succeed; usage errors exit 2.
            let _ = e.print();
            return if e.use_stderr() {
                exit::ERROR
            } else {
                exit::OK
            };
        }
    };
    match run(&cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("gpu-policy-check: error: {e:#}");
            exit::ERROR
        }
    }
}

/// Loads, checks, reports; `Err` is a usage, input or setup error.
pub fn run(cli: &Cli) -> Result<u8> {
    let root = workspace_root();
    let policy_set = match &cli.policies {
        Some(path) => config::from_manifests(path)?,
        None => config::defaults(&root)?,
    };

    let inputs = input::load(&cli.paths);
    if !inputs.errors.is_empty() {
        let mut err = std::io::stderr().lock();
        for e in &inputs.errors {
            let _ = writeln!(err, "gpu-policy-check: error: {e}");
        }
        let _ = writeln!(
            err,
            "gpu-policy-check: {} input error(s); nothing was checked",
            inputs.errors.len()
        );
        return Ok(exit::ERROR);
    }
    if inputs.objects.is_empty() {
        anyhow::bail!(
            "no Kubernetes objects in {} ({} file(s) read, all empty)",
            cli.paths
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", "),
            inputs.files
        );
    }

    let wasm_dir = cli
        .wasm_dir
        .clone()
        .unwrap_or_else(|| root.join("target").join("policies"));
    let cluster = Arc::new(offline_cluster(inputs.objects.iter().map(|o| &o.object)));
    let engine = Engine::load(policy_set, &wasm_dir, cluster)?;

    let mut progress = Progress::new(inputs.objects.len());
    let outcome = engine.run(inputs.objects, |done| progress.update(done));
    progress.finish();

    let to_terminal = cli.output_file.is_none() && std::io::stdout().is_terminal();
    let options = TableOptions {
        width: std::env::var("COLUMNS")
            .ok()
            .and_then(|c| c.parse().ok())
            .unwrap_or(120),
        color: to_terminal && std::env::var_os("NO_COLOR").is_none(),
    };
    let text = report::render(&outcome, cli.output, options);
    match &cli.output_file {
        Some(path) => std::fs::write(path, &text)
            .with_context(|| format!("cannot write {}", path.display()))?,
        None => {
            let mut stdout = std::io::stdout().lock();
            // A closed pipe (`| head`) is not an error of the check.
            let _ = stdout.write_all(text.as_bytes());
            let _ = stdout.flush();
        }
    }
    Ok(if outcome.has_rejections() {
        exit::REJECTED
    } else {
        exit::OK
    })
}
