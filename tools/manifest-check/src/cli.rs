//! Command-line interface: arguments, the run from input to report, and
//! exit codes.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, Result};
use clap::Parser;
use policy_runner::ModuleCache;

use crate::cluster::offline_cluster;
use crate::evaluate::Engine;
use crate::modules::{self, ModuleSource};
use crate::progress::Progress;
use crate::report::{self, Format, TableOptions};
use crate::{config, exit, expect, input};

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
1 something rejected, 2 usage, input or setup error; with --expect-annotations, \
0 every verdict as annotated, 1 some not, 2 error.\n\
Objects are shown at file:line (their first line), violations at file:line:column of the field \
they name (or of its nearest parent the file has)."
)]
pub struct Cli {
    /// Files or folders of Kubernetes YAML/JSON (folders are read
    /// recursively: *.yaml, *.yml, *.json); `-` reads stdin.
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,

    /// Folder holding built <policy>.wasm modules to run instead of the
    /// ones built into this binary
    #[arg(long, env = "POLICY_WASM_DIR", value_name = "DIR")]
    pub wasm_dir: Option<PathBuf>,

    /// Compile the policy modules afresh and keep nothing (by default the
    /// compiled modules are kept in the cache folder, so the next run starts
    /// in milliseconds).
    #[arg(long)]
    pub no_cache: bool,

    /// Cache folder for compiled modules [default: $GPU_POLICY_CHECK_CACHE_DIR,
    /// else $XDG_CACHE_HOME/gpu-policy-check, else ~/.cache/gpu-policy-check]
    #[arg(long, value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,

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

    /// Check each file's `# expect: accept` / `# expect: reject <policy>,...`
    /// comment instead of failing on rejections: exit 0 when every verdict
    /// is the annotated one, 1 otherwise (how the bundled examples, which
    /// hold deliberate mistakes, are checked).
    #[arg(long)]
    pub expect_annotations: bool,

    /// Skip YAML documents that are not Kubernetes objects (no apiVersion
    /// and no kind: CI workflows, values files) instead of failing on them;
    /// for hooks handed every changed YAML file. Exit 0 when nothing is left.
    #[arg(long)]
    pub skip_non_kubernetes: bool,
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
    let policy_set = match &cli.policies {
        Some(path) => config::from_manifests(path)?,
        None => config::defaults()?,
    };

    let inputs = input::load_skipping(&cli.paths, cli.skip_non_kubernetes);
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
    if inputs.objects.is_empty() && cli.skip_non_kubernetes {
        println!(
            "gpu-policy-check: nothing to check: {} file(s) read, no Kubernetes objects ({} other YAML document(s) skipped)",
            inputs.files,
            inputs.skipped.len()
        );
        return Ok(exit::OK);
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

    // The modules built into the binary unless a folder is named; compiled
    // once and kept in the cache folder unless --no-cache.
    let modules = cli
        .wasm_dir
        .clone()
        .map_or(ModuleSource::Embedded, ModuleSource::Dir);
    let cache = ModuleCache::new(modules::cache_dir(cli.no_cache, cli.cache_dir.as_deref()))?;
    let cluster = Arc::new(offline_cluster(inputs.objects.iter().map(|o| &o.object)));
    let engine = Engine::load(policy_set, &modules, &cache, cluster)?;

    let mut progress = Progress::new(inputs.objects.len());
    let mut outcome = engine.run(inputs.objects, |done| progress.update(done));
    progress.finish();
    crate::locate::locate(&mut outcome);
    if !inputs.skipped.is_empty() {
        let shown: Vec<&str> = inputs.skipped.iter().take(5).map(String::as_str).collect();
        let more = inputs.skipped.len() - shown.len();
        outcome.notes.push(format!(
            "{} YAML document(s) that are not Kubernetes objects were skipped (--skip-non-kubernetes): {}{}",
            inputs.skipped.len(),
            shown.join(", "),
            if more > 0 { format!(" and {more} more") } else { String::new() }
        ));
    }

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
    if cli.expect_annotations {
        return Ok(check_annotations(&outcome, cli));
    }
    Ok(if outcome.has_rejections() {
        exit::REJECTED
    } else {
        exit::OK
    })
}

/// `--expect-annotations`: says which verdicts differ from the files'
/// `# expect:` lines (after the table on stdout, else on stderr, so a JSON
/// or SARIF report stays one document) and gives the exit code.
fn check_annotations(outcome: &crate::evaluate::Outcome, cli: &Cli) -> u8 {
    let report = expect::check(outcome, |path| std::fs::read_to_string(path));
    let mut text = String::new();
    if report.failures.is_empty() {
        let rejections = outcome.count(crate::evaluate::Verdict::Reject);
        text.push_str(&format!(
            "\nExpected verdicts: all {} file(s) got the verdicts their `# expect:` lines annotate ({rejections} rejection(s), each annotated) => PASS\n",
            report.passed
        ));
    } else {
        text.push_str(&format!(
            "\nExpected verdicts: {} file(s) as annotated, {} verdict(s) not => FAIL\n",
            report.passed,
            report.failures.len()
        ));
        for failure in &report.failures {
            text.push_str(&format!("  {failure}\n"));
        }
    }
    let _ = if cli.output == Format::Table && cli.output_file.is_none() {
        std::io::stdout().lock().write_all(text.as_bytes())
    } else {
        std::io::stderr().lock().write_all(text.as_bytes())
    };
    if report.failures.is_empty() {
        exit::OK
    } else {
        exit::REJECTED
    }
}
