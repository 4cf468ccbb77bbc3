//! Native baseline for `scripts/bench`: runs a query plan over exported vault chunks directly in
//! Rust (no JVM, no JNI), with the same executor, parameters and thread count as the Java path.
//!
//!     medvault-bench query DIR      DIR holds server.key, plan.json, chunk-N.bin and chunk-N.slots
//!     medvault-bench ops WIDTHS REPS SUM_N   per-operation timings (e.g. "8,16" 3 100), fresh keys
//!
//! Prints one JSON line: {"seconds": …, "pbs": …, "records": …}, or for ops a JSON object of
//! seconds per operation, keyed like "add/8".

use std::time::Instant;

use medvault_native::params::{self, LIMIT_COMPRESSED_SERVER_KEY};
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
    if args.len() == 5 && args[1] == "ops" {
        let reps = args[3].parse().map_err(|_| "REPS must be a number".to_string())?;
        let sum_n = args[4].parse().map_err(|_| "SUM_N must be a number".to_string())?;
        return ops(&args[2], reps, sum_n);
    }
    if args.len() != 3 || args[1] != "query" {
        return Err("usage: medvault-bench query DIR | ops WIDTHS REPS SUM_N".into());
    }
    let dir = std::path::Path::new(&args[2]);
    let threads = std::env::var("MEDVAULT_THREADS").ok().and_then(|v| v.parse::<usize>().ok());
    if let Some(n) = threads {
        rayon::ThreadPoolBuilder::new().num_threads(n).build_global().map_err(|e| e.to_string())?;
    }
    let read = |name: &str| std::fs::read(dir.join(name)).map_err(|e| format!("{name}: {e}"));
    let csk: CompressedServerKey =
        params::deserialize(&read("server.key")?, LIMIT_COMPRESSED_SERVER_KEY, "server key").map_err(|e| e.to_string())?;
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
    let threads = medvault_native::runtime::threads().map_err(|e| e.to_string())?;
    let mut ex = Executor::new(plan, threads).map_err(|e| e.to_string())?;
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

/// Mean seconds of `reps` runs of `f` after one warm-up run.
/// Mean seconds per call. Slow operations: one warm-up, then `reps` runs. Fast ones (under 10 ms):
/// warm up for 0.1 s, then run for at least 0.25 s — the same policy as Bench.java's `time`.
fn time<T>(reps: usize, mut f: impl FnMut() -> T) -> f64 {
    let t = Instant::now();
    std::hint::black_box(f());
    if t.elapsed().as_secs_f64() < 0.01 {
        let w = Instant::now();
        while w.elapsed().as_secs_f64() < 0.1 {
            std::hint::black_box(f());
        }
        let t = Instant::now();
        let mut n = 0u64;
        while n < reps as u64 || t.elapsed().as_secs_f64() < 0.25 {
            std::hint::black_box(f());
            n += 1;
        }
        return t.elapsed().as_secs_f64() / n as f64;
    }
    let t = Instant::now();
    for _ in 0..reps {
        std::hint::black_box(f());
    }
    t.elapsed().as_secs_f64() / reps as f64
}

fn ops(widths: &str, reps: usize, sum_n: u32) -> Result<(), String> {
    use tfhe::prelude::*;
    use tfhe::{ClientKey, FheBool, FheUint16, FheUint32, FheUint64, FheUint8};
    let config = medvault_native::params::Features { compression: false, noise_squashing: false }.config();
    let mut out: Vec<(String, f64)> = Vec::new();
    // Client + compact public key together: MedVault makes both at once (the public key's hash
    // is the key id), so this is the comparable figure.
    out.push((
        "keygen/client+public".into(),
        time(reps.max(5), || {
            let k = ClientKey::generate(config);
            medvault_native::client_key::trusted_public(&k).unwrap()
        }),
    ));
    let t = Instant::now();
    let ck = ClientKey::generate(config);
    out.push(("keygen/client".into(), t.elapsed().as_secs_f64()));
    let t = Instant::now();
    let csk = ck.generate_compressed_server_key();
    out.push(("keygen/compressed-server".into(), t.elapsed().as_secs_f64()));
    let sk = csk.decompress();
    tfhe::set_server_key(sk);
    macro_rules! width {
        ($ty:ty, $clear:ty, $bits:expr) => {{
            let a = <$ty>::encrypt(200 as $clear, &ck);
            let b = <$ty>::encrypt(100 as $clear, &ck);
            let c = FheBool::encrypt(true, &ck);
            out.push((format!("encrypt/{}", $bits), time(reps, || <$ty>::encrypt(7 as $clear, &ck))));
            out.push((format!("decrypt/{}", $bits), time(reps, || { let v: $clear = a.decrypt(&ck); v })));
            let bytes = params::serialize(&a, params::LIMIT_CIPHERTEXT, "ct").map_err(|e| e.to_string())?;
            out.push((format!("serialize/{}", $bits), time(reps, || params::serialize(&a, params::LIMIT_CIPHERTEXT, "ct").unwrap())));
            out.push((format!("deserialize/{}", $bits), time(reps, || params::deserialize::<$ty>(&bytes, params::LIMIT_CIPHERTEXT, "ct").unwrap())));
            out.push((format!("add/{}", $bits), time(reps, || &a + &b)));
            out.push((format!("mul/{}", $bits), time(reps, || &a * &b)));
            out.push((format!("gt/{}", $bits), time(reps, || a.gt(&b))));
            out.push((format!("select/{}", $bits), time(reps, || c.select(&a, &b))));
        }};
    }
    for w in widths.split(',') {
        match w.trim() {
            "8" => width!(FheUint8, u8, 8),
            "16" => width!(FheUint16, u16, 16),
            "32" => width!(FheUint32, u32, 32),
            "64" => width!(FheUint64, u64, 64),
            other => return Err(format!("unknown width {other}")),
        }
    }
    let many: Vec<FheUint8> = (0..sum_n).map(|i| FheUint8::encrypt((i % 256) as u8, &ck)).collect();
    let refs: Vec<&FheUint8> = many.iter().collect();
    let t = Instant::now();
    std::hint::black_box(FheUint8::sum(&refs));
    out.push(("sum/8".into(), t.elapsed().as_secs_f64()));
    let body: Vec<String> = out.iter().map(|(k, v)| format!("\"{k}\": {v:.9}")).collect();
    println!("{{{}}}", body.join(", "));
    Ok(())
}
