//! Seed inputs for the fuzz targets in `rust/fuzz` (run by `scripts/fuzz`, not by `cargo test`):
//! one valid example of each format, made with real keys, so the fuzzer starts from inside each
//! parser rather than at its first magic byte. Writes into `$MEDVAULT_FUZZ_SEEDS/<target>/`.

use std::path::Path;

use medvault_native::ciphertext::Kind;
use medvault_native::client_key::{self, encrypt};
use medvault_native::params::{self, Features};
use medvault_native::{public_key, release};

fn write(dir: &Path, target: &str, name: &str, pick: u8, bytes: &[u8]) {
    let d = dir.join(target);
    std::fs::create_dir_all(&d).unwrap();
    let mut b = vec![pick];
    b.extend_from_slice(bytes);
    std::fs::write(d.join(name), b).unwrap();
}

#[test]
#[ignore = "run by scripts/fuzz"]
fn write_fuzz_seeds() {
    let Some(dir) = std::env::var_os("MEDVAULT_FUZZ_SEEDS") else { panic!("set MEDVAULT_FUZZ_SEEDS") };
    let dir = Path::new(&dir);

    let plans = [
        r#"{"layout":[1,2,1],"predicate":{"op":"true"},"outputs":[{"kind":"count","bits":16}],"min_cohort":5}"#,
        r#"{"layout":[1,2,0,3],"predicate":{"op":"and","args":[{"op":"cmp","cmp":"ge","slot":0,"c":65,"bits":8},{"op":"not","arg":{"op":"in","slot":2,"values":[1],"bits":0}}]},"outputs":[{"kind":"count","bits":16},{"kind":"sum","slot":1,"bits":32},{"kind":"min","slot":0,"bits":8},{"kind":"max","slot":3,"bits":32}],"min_cohort":10}"#,
        r#"{"layout":[1,1],"predicate":{"op":"or","args":[{"op":"between","slot":1,"lo":3,"hi":9}]},"outputs":[{"kind":"count","bits":16},{"kind":"hist","slot":0,"edges":[0,18,40,65,120],"bits":16,"lower":0,"upper":120}],"min_cohort":1}"#,
    ];
    for (i, p) in plans.iter().enumerate() {
        let d = dir.join("plan");
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join(format!("plan-{i}")), p).unwrap();
    }

    let mut counter = 0u8;
    let mut random = |b: &mut [u8]| {
        for x in b.iter_mut() {
            counter = counter.wrapping_mul(31).wrapping_add(7);
            *x = counter;
        }
    };
    let shares = release::deal(&[1u128, 2, 3, 4, 5, 6, 7, 8], 3, 2, &mut random).unwrap();
    write(dir, "threshold", "share", 0, &release::share_to_bytes(&shares[0]));

    let k = client_key::generate(Features { compression: false, noise_squashing: false }).unwrap();
    for (code, kind, v) in [(0u8, Kind::Bool, 1u64), (1, Kind::U8, 200), (2, Kind::U16, 999)] {
        write(dir, "ciphertexts", &format!("ct-{}", kind.name()), code, &encrypt(&k.key, kind, v).unwrap().serialize().unwrap());
    }
    let pk = client_key::trusted_public(&k.key).unwrap();
    let list = public_key::encrypt_list(&pk, &[Kind::U8, Kind::U16, Kind::Bool], &[61, 130, 1]).unwrap();
    write(dir, "ciphertexts", "compact-list", 5, &params::serialize(&list, 1 << 26, "list").unwrap());
    write(dir, "keys", "public-key", 1, &params::serialize(&pk, params::LIMIT_PUBLIC_KEY, "public key").unwrap());
    // A client key seed is a secret of a throwaway key made here; the corpus stays out of git.
    write(dir, "keys", "client-key", 0, &params::serialize(&*k.key, params::LIMIT_CLIENT_KEY, "client key").unwrap());
}
