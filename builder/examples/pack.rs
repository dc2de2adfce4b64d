//! Pack a directory the way bundles are packed, for benchmarks:
//! `pack SRC OUT [PREFIX]`. Entries are dated `SOURCE_DATE_EPOCH` (0 when
//! unset) and put under PREFIX (`pigsty` by default).

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use pig_build::pack::pack_dir;

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (src, out, prefix) = match args.as_slice() {
        [src, out] => (src, out, "pigsty"),
        [src, out, prefix] => (src, out, prefix.as_str()),
        _ => bail!("usage: pack SRC OUT [PREFIX]"),
    };
    let mtime = match std::env::var("SOURCE_DATE_EPOCH") {
        Ok(v) => v
            .parse()
            .with_context(|| format!("SOURCE_DATE_EPOCH={v:?} is not a number"))?,
        Err(_) => 0,
    };
    let s = pack_dir(&PathBuf::from(src), prefix, &PathBuf::from(out), mtime)?;
    println!(
        "files={} bytes_in={} bytes_out={} seconds={:.3} threads={}",
        s.files,
        s.bytes_in,
        s.bytes_out,
        s.seconds,
        rayon::current_num_threads()
    );
    Ok(())
}
