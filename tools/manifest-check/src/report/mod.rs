//! Rendering an [`Outcome`]: a table for people, JSON for programs, JUnit
//! XML for CI systems, SARIF for code scanning.

mod json;
mod junit;
mod sarif;
mod table;

use crate::evaluate::Outcome;

/// `--output`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// A table, then the full rejection messages and patches.
    Table,
    /// One JSON document.
    Json,
    /// JUnit XML: one testsuite per policy, one testcase per object.
    Junit,
    /// SARIF 2.1.0: one rule per policy, one result per violation at its
    /// line (GitHub code scanning).
    Sarif,
}

#[derive(Debug, Clone, Copy)]
pub struct TableOptions {
    /// Terminal width the table is fitted to.
    pub width: usize,
    /// Colour the verdicts (ANSI).
    pub color: bool,
}

pub fn render(outcome: &Outcome, format: Format, options: TableOptions) -> String {
    match format {
        Format::Table => table::render(outcome, options),
        Format::Json => json::render(outcome),
        Format::Junit => junit::render(outcome),
        Format::Sarif => sarif::render(outcome),
    }
}
