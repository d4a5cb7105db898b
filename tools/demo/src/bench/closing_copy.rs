//! finance-closing's result copy in bounded memory: a day's result table of 100,000 and of
//! 1,000,000 rows from the simulated ERP into PostgreSQL through `Store::copy_from` (batches of
//! the Oracle fetch array size, one transaction), each in a process of its own on one thread,
//! as the function runs it. Rows per second and the process's peak RSS (`VmHWM`) before and
//! after the copy: memory must not grow with the table (target: peak ≤ 64 MB at 1,000,000).
//!
//! Run: `cargo run --release -p orabridge-demo -- closing-copy` (prints Markdown).

use std::time::{Duration, Instant};

use anyhow::{Context as _, ensure};
use finance_closing::closing::ClosingDate;
use finance_closing::erp::SimulatedErp;
use finance_closing::erp::simulated::SIMULATED_BATCH_ROWS;
use finance_closing::pg::pool;
use finance_closing::store::{ClosingStore, PostgresStore};
use orabridge_shared::testkit;

/// The sizes measured, each in its own process.
const SIZES: [u64; 2] = [100_000, 1_000_000];

/// Peak RSS the 1,000,000-row copy must stay under.
const TARGET_PEAK_KIB: f64 = 64.0 * 1024.0;

/// How much more the ten-times-larger copy may peak at: bounded memory means the table's size
/// does not show (allocator noise does).
const ALLOWED_GROWTH_KIB: f64 = 8.0 * 1024.0;

/// This process's peak resident set so far.
fn peak_kib() -> anyhow::Result<u64> {
    crate::coldstart::memory(std::process::id())
        .map(|memory| memory.peak_kib)
        .context("no VmHWM in /proc/self/status")
}

/// One copy of `rows` rows, in this process: prints `rows seconds peak_before peak_after`.
pub async fn run_one(rows: u64) -> anyhow::Result<()> {
    testkit::postgres().await.context("PostgreSQL")?;
    let (config, tls) = testkit::postgres_config()?;
    let pool = pool(config, &tls, 2)?;
    let schema = format!("fc_copy_bench_{}", std::process::id());
    let store = PostgresStore::new(pool.clone(), &schema)?;
    store.migrate(&["gl_balances".to_owned()]).await?;
    let erp = SimulatedErp::new(pool.clone(), &schema, Duration::from_millis(1))?.with_rows(rows);
    let date = ClosingDate::parse("2026-11-20")?;
    let before = peak_kib()?;
    let started = Instant::now();
    let copied = store.copy_from(&erp, "gl_balances", date).await?;
    let elapsed = started.elapsed();
    let after = peak_kib()?;
    ensure!(copied == rows, "copied {copied} rows of {rows}");
    let stored = store.count_results("gl_balances", date).await?;
    ensure!(
        stored == rows as i64,
        "PostgreSQL holds {stored} rows of {rows}"
    );
    if let Ok(client) = pool.get().await {
        let _ = client
            .batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
            .await;
    }
    println!("{rows} {} {before} {after}", elapsed.as_secs_f64());
    Ok(())
}

/// Every size in a child process; prints the Markdown section.
pub async fn run() -> anyhow::Result<()> {
    let exe = std::env::current_exe()?;
    let mut lines = Vec::new();
    let mut peaks = Vec::new();
    for rows in SIZES {
        let output = tokio::process::Command::new(&exe)
            .args(["closing-copy-run", &rows.to_string()])
            .output()
            .await?;
        ensure!(
            output.status.success(),
            "the {rows}-row copy failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let text = String::from_utf8_lossy(&output.stdout);
        let fields: Vec<f64> = text
            .split_whitespace()
            .map(str::parse)
            .collect::<Result<_, _>>()
            .with_context(|| format!("unexpected output {text:?}"))?;
        ensure!(fields.len() == 4, "unexpected output {text:?}");
        let (seconds, before, after) = (fields[1], fields[2], fields[3]);
        peaks.push(after);
        lines.push(format!(
            "| {} | {:.1} s | {} | {:.1} MB | {:.1} MB |",
            group(rows),
            seconds,
            group((rows as f64 / seconds) as u64),
            before / 1024.0,
            after / 1024.0
        ));
    }
    let (small, large) = (peaks[0], peaks[peaks.len() - 1]);
    let target_met = large <= TARGET_PEAK_KIB && large - small <= ALLOWED_GROWTH_KIB;
    println!("### finance-closing: the result copy in bounded memory\n");
    println!(
        "One day's result table from the simulated ERP into the local PostgreSQL through \
         `Store::copy_from`: batches of {SIMULATED_BATCH_ROWS} rows (the Oracle fetch array \
         size) over a channel of two, one multi-row `INSERT ... unnest` per batch, one \
         transaction. Each size runs in a process of its own on one thread, as the function \
         does; peak RSS is the process's `VmHWM` before and after the copy \
         (`cargo run --release -p orabridge-demo -- closing-copy`).\n"
    );
    println!("| rows | copy time | rows/s | peak RSS before the copy | peak RSS after |");
    println!("|---:|---:|---:|---:|---:|");
    for line in lines {
        println!("{line}");
    }
    println!(
        "\nTarget: peak RSS ≤ 64 MB for 1,000,000 rows, and at most 8 MB more than for 100,000 \
         (memory does not grow with the table): {} ({:+.1} MB).\n",
        if target_met { "met" } else { "missed" },
        (large - small) / 1024.0
    );
    Ok(())
}

/// `n` with thousands separators, as the rest of BENCHMARKS.md writes counts.
fn group(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn counts_are_written_with_thousands_separators() {
        assert_eq!(super::group(1_000_000), "1,000,000");
        assert_eq!(super::group(52_698), "52,698");
        assert_eq!(super::group(999), "999");
    }
}
