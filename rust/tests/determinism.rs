//! Canonical evaluation: a query plan gives byte-identical encrypted and squashed outputs
//! whatever the number of worker threads (custodians re-derive results and compare bytes), and
//! the outputs are right, suppression included.

use medvault_native::params::{self, Features};
use medvault_native::query::{Executor, Plan};
use medvault_native::release as threshold;
use tfhe::prelude::*;
use tfhe::{ClientKey, CompactCiphertextList, CompactPublicKey};

const AGES: [u8; 8] = [20, 45, 47, 50, 65, 70, 72, 75];

/// count, sum(age), max(age) and two histograms WHERE age >= 40, with k = 3:
/// cohort 45 47 50 65 70 72 75 (7 records, Σ 424, max 75);
/// histogram A [40,50) [50,60) [60,80): 2 and 1 suppressed (together 3 = k: safe), 4 shown;
/// histogram B [40,46) [46,80): 1 suppressed, and 6 shown would give it away as 7 − 6,
/// so secondary suppression hides both.
const PLAN: &str = r#"{
  "layout": [1, 1],
  "predicate": {"op": "cmp", "cmp": "ge", "slot": 0, "c": 40},
  "outputs": [
    {"kind": "count", "bits": 8},
    {"kind": "sum", "slot": 0, "bits": 16},
    {"kind": "max", "slot": 0, "bits": 8},
    {"kind": "hist", "slot": 0, "edges": [40, 50, 60, 80], "bits": 8, "lower": 40},
    {"kind": "hist", "slot": 0, "edges": [40, 46, 80], "bits": 8, "lower": 40}
  ],
  "min_cohort": 3
}"#;

fn chunk(pk: &CompactPublicKey, ages: &[u8]) -> Vec<u8> {
    let mut b = CompactCiphertextList::builder(pk);
    for &a in ages {
        b.push(a).push(1u8);
    }
    params::serialize(&b.build(), params::LIMIT_LIST, "list").unwrap()
}

fn evaluate(sk: &tfhe::ServerKey, chunks: &[Vec<u8>], threads: usize) -> (Vec<Vec<u8>>, Vec<Vec<u8>>, Vec<u64>, Vec<tfhe::SquashedNoiseFheUint>) {
    let plan: Plan = serde_json::from_str(PLAN).unwrap();
    let mut ex = Executor::new(plan, threads).unwrap();
    tfhe::with_server_key_as_context(sk.clone(), || {
        ex.feed(sk, &chunks[0], &[0, 1, 2, 3]).unwrap();
        ex.feed(sk, &chunks[1], &[0, 1, 2, 3]).unwrap();
        let outs = ex.finish(sk).unwrap();
        let bytes: Vec<Vec<u8>> = outs.iter().map(|c| c.serialize().unwrap()).collect();
        let squashed = ex.squash(sk, &outs.iter().collect::<Vec<_>>()).unwrap();
        let widths: Vec<u32> = outs.iter().map(|c| c.kind().bits()).collect();
        let loaded = squashed.iter().zip(&widths).map(|(b, &w)| threshold::load_squashed(b, &[], w).unwrap()).collect();
        (bytes, squashed, widths.iter().map(|&w| w as u64).collect(), loaded)
    })
}

#[test]
fn outputs_are_byte_identical_on_one_and_two_threads_and_right() {
    let ck = ClientKey::generate(Features { compression: false, noise_squashing: true }.config());
    let sk = ck.generate_server_key();
    let pk = medvault_native::client_key::trusted_public(&ck).unwrap(); // the batch path's key
    let chunks = vec![chunk(&pk, &AGES[..4]), chunk(&pk, &AGES[4..])];

    let (one, squashed_one, widths, loaded) = evaluate(&sk, &chunks, 1);
    let (two, squashed_two, ..) = evaluate(&sk, &chunks, 2);
    assert_eq!(one, two, "encrypted outputs differ between 1 and 2 threads");
    assert_eq!(squashed_one, squashed_two, "squashed outputs differ between 1 and 2 threads");

    let values: Vec<u128> = loaded.iter().map(|c| c.decrypt(&ck)).collect();
    let s = 255; // the 8-bit "suppressed" marker
    assert_eq!(values, vec![7, 424, 75, s, s, 4, s, s], "count, sum, max, histogram A, histogram B");
    assert_eq!(widths, vec![8, 16, 8, 8, 8, 8, 8, 8]);

    // Conformance: a squashed output read as another width, or under another key id, is refused.
    assert!(threshold::load_squashed(&squashed_one[1], &[], 8).is_err(), "16-bit output read as 8 bits");
    assert!(threshold::load_squashed(&squashed_one[0], b"another key", 8).is_err(), "another key id");
    let mut truncated = squashed_one[0].clone();
    truncated.truncate(truncated.len() - 100);
    assert!(threshold::load_squashed(&truncated, &[], 8).is_err(), "truncated");
}
