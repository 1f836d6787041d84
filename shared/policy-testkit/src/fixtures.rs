//! A policy's own settings files, for property tests that want realistic
//! settings.

use std::path::Path;

use serde_json::{Value, json};

/// Every `*.json` in `<manifest_dir>/test_data/<folder>` for each of
/// `folders`, parsed, in name order; always includes `{}`. Unreadable files
/// are skipped (the policy's own tests check them).
pub fn settings_files(manifest_dir: &str, folders: &[&str]) -> Vec<Value> {
    let mut out = vec![json!({})];
    for folder in folders {
        let dir = Path::new(manifest_dir).join("test_data").join(folder);
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        let mut paths: Vec<_> = entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "json"))
            .collect();
        paths.sort();
        for path in paths {
            if let Some(v) = std::fs::read(&path)
                .ok()
                .and_then(|bytes| serde_json::from_slice::<Value>(&bytes).ok())
            {
                out.push(v);
            }
        }
    }
    out
}
