//! Native baseline for `scripts/bench`: runs a query plan over exported vault chunks directly in
//! Rust (no JVM, no JNI), with the same executor, parameters and thread count as the Java path.
//!
//!     medvault-bench query DIR      DIR holds server.key, plan.json, chunk-N.bin and chunk-N.slots
//!
//! Prints one JSON line: {"seconds": …, "pbs": …, "records": …}.

use std::time::Instant;

use medvault_native::params::{self, LIMIT_KEY};
use medvault_native::query::{Executor, Plan};
use tfhe::CompressedServerKey;

fn main() {
    if let Err(e) = run() {
        eprintln!("medvault-bench: {e}");
        std::process::exit(1);
    }
}

fn run() -> Result<(), String> {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 3 || args[1] != "query" {
        return Err("usage: medvault-bench query DIR".into());
    }
    let dir = std::path::Path::new(&args[2]);
    let threads = std::env::var("MEDVAULT_THREADS").ok().and_then(|v| v.parse::<usize>().ok());
    if let Some(n) = threads {
        rayon::ThreadPoolBuilder::new().num_threads(n).build_global().map_err(|e| e.to_string())?;
    }
    let read = |name: &str| std::fs::read(dir.join(name)).map_err(|e| format!("{name}: {e}"));
    let csk: CompressedServerKey =
        params::deserialize(&read("server.key")?, LIMIT_KEY, "server key").map_err(|e| e.to_string())?;
    let sk = csk.decompress();
    let plan: Plan = serde_json::from_slice(&read("plan.json")?).map_err(|e| e.to_string())?;
    let mut chunks = Vec::new();
    for i in 0.. {
        let Ok(list) = std::fs::read(dir.join(format!("chunk-{i}.bin"))) else { break };
        let slots: Vec<usize> = String::from_utf8_lossy(&read(&format!("chunk-{i}.slots"))?)
            .split_whitespace()
            .map(|s| s.parse().map_err(|_| format!("bad slot {s}")))
            .collect::<Result<_, _>>()?;
        chunks.push((list, slots));
    }
    let mut ex = Executor::new(plan).map_err(|e| e.to_string())?;
    let pbs0 = tfhe::get_pbs_count();
    let t = Instant::now();
    let records: usize = chunks.iter().map(|c| c.1.len()).sum();
    tfhe::with_server_key_as_context(sk.clone(), || -> Result<(), String> {
        for (list, slots) in &chunks {
            ex.feed(&sk, list, slots).map_err(|e| e.to_string())?;
        }
        ex.finish(&sk).map_err(|e| e.to_string())?;
        Ok(())
    })?;
    println!(
        "{{\"seconds\": {:.4}, \"pbs\": {}, \"records\": {}}}",
        t.elapsed().as_secs_f64(),
        tfhe::get_pbs_count() - pbs0,
        records
    );
    Ok(())
}
