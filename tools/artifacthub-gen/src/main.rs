//! `artifacthub-gen [--check] [WORKSPACE_ROOT]`: writes artifacthub/ from the
//! policies' metadata.yml, questions-ui.yml and README.md (see the library
//! docs). `--check` writes nothing and fails when a file is stale.
//! `ARTIFACTHUB_CREATED_AT` overrides the `createdAt` of new versions.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;

fn run() -> Result<ExitCode> {
    let mut check = false;
    let mut root = PathBuf::from(".");
    for arg in std::env::args().skip(1) {
        match arg.as_str() {
            "--check" => check = true,
            "-h" | "--help" => {
                println!("usage: artifacthub-gen [--check] [WORKSPACE_ROOT]");
                return Ok(ExitCode::SUCCESS);
            }
            other => root = PathBuf::from(other),
        }
    }
    artifacthub_gen::check_root(&root)?;
    let date = std::env::var("ARTIFACTHUB_CREATED_AT")
        .ok()
        .filter(|d| !d.is_empty())
        .unwrap_or_else(artifacthub_gen::today_utc);
    let files = artifacthub_gen::generate(&root, &date)?;
    if check {
        let stale = artifacthub_gen::stale(&root, &files);
        if stale.is_empty() {
            println!("artifacthub/ is up to date ({} files)", files.len());
            return Ok(ExitCode::SUCCESS);
        }
        for path in &stale {
            eprintln!("stale: {}", path.display());
        }
        eprintln!("run `make artifacthub` and commit the result");
        return Ok(ExitCode::FAILURE);
    }
    let changed = artifacthub_gen::write(&root, &files)?;
    for path in &changed {
        println!("wrote {}", path.display());
    }
    println!(
        "artifacthub/: {} files, {} changed",
        files.len(),
        changed.len()
    );
    Ok(ExitCode::SUCCESS)
}

fn main() -> ExitCode {
    match run() {
        Ok(code) => code,
        Err(e) => {
            eprintln!("artifacthub-gen: {e:#}");
            ExitCode::FAILURE
        }
    }
}
