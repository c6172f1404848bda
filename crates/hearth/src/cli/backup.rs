//! `hearth backup DIR`: a consistent copy of the database while the server runs.
//!
//! The copy is `DIR/hearth.db`, so `DIR` can serve as the `data_dir` of a fresh
//! server. Everything delivered so far is in it: a running server is first asked to
//! bring the database up to date; with none running, the journal is applied first.

use std::path::Path;

use anyhow::{Context, bail};

use super::Ctx;

pub async fn run(ctx: &Ctx, dir: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create the backup directory {}", dir.display()))?;
    let target = dir.join(hearth_store::DB_FILE);
    if target.exists() {
        bail!("{} exists already; give an empty or new directory", target.display());
    }
    let (store, _lock) = ctx.history_store().await?;
    store.backup_to(&target).await.with_context(|| format!("cannot write the backup {}", target.display()))?;
    let size = std::fs::metadata(&target).map(|m| m.len()).unwrap_or(0);
    println!("backed up the database to {} ({size} bytes)", target.display());
    Ok(())
}
