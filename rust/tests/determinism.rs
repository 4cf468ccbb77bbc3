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

/// The partition test's plan: the two kinds of series (additive, extremum), min by complement.
const TREE_PLAN: &str = r#"{
  "layout": [1, 1],
  "predicate": {"op": "cmp", "cmp": "ge", "slot": 0, "c": 40},
  "outputs": [
    {"kind": "count", "bits": 8},
    {"kind": "sum", "slot": 0, "bits": 16},
    {"kind": "max", "slot": 0, "bits": 8},
    {"kind": "min", "slot": 0, "bits": 8}
  ],
  "min_cohort": 3
}"#;

/// The chunks of one record each that the partition test feeds: ages cycling through AGES.
fn single_chunks(pk: &CompactPublicKey, n: usize) -> Vec<Vec<u8>> {
    (0..n).map(|i| chunk(pk, &AGES[i % AGES.len()..i % AGES.len() + 1])).collect()
}

/// Runs `chunks` split into consecutive runs at `cuts`: one executor per run (started at its first
/// chunk), their partial results merged in order by a fresh executor, which finishes.
fn partitioned(sk: &tfhe::ServerKey, chunks: &[Vec<u8>], cuts: &[usize]) -> Vec<Vec<u8>> {
    tfhe::with_server_key_as_context(sk.clone(), || {
        let mut bounds = vec![0];
        bounds.extend_from_slice(cuts);
        bounds.push(chunks.len());
        let mut driver = Executor::new(serde_json::from_str(TREE_PLAN).unwrap(), 2).unwrap();
        for w in bounds.windows(2) {
            let mut ex = Executor::new(serde_json::from_str(TREE_PLAN).unwrap(), 2).unwrap();
            ex.begin_at(w[0] as u64).unwrap();
            for c in &chunks[w[0]..w[1]] {
                ex.feed(sk, c, &[0]).unwrap();
            }
            driver.merge(sk, &ex.state().unwrap()).unwrap();
        }
        assert_eq!(driver.chunks(), (0, chunks.len() as u64));
        driver.finish(sk).unwrap().iter().map(|c| c.serialize().unwrap()).collect()
    })
}

/// The canonical reduction tree (16 children per node) depends only on the chunks and their order:
/// 17 chunks (a root over a full node of 16 and a one-chunk node) give the same bytes in one pass
/// and split inside the first group and on its edge (so the driver completes the group of 16 from
/// two runs), and the right values. Partial results out of order, with a gap, twice, of another plan or tampered with
/// are refused.
#[test]
fn partial_results_merged_in_order_equal_one_pass() {
    let ck = ClientKey::generate(Features { compression: false, noise_squashing: false }.config());
    let sk = ck.generate_server_key();
    let pk = medvault_native::client_key::trusted_public(&ck).unwrap();
    let n = 17;
    let chunks = single_chunks(&pk, n);
    let one_pass = partitioned(&sk, &chunks, &[]);
    for cuts in [vec![5, 16]] {
        assert_eq!(partitioned(&sk, &chunks, &cuts), one_pass, "split at {cuts:?}");
    }
    let ages: Vec<u64> = (0..n).map(|i| AGES[i % AGES.len()] as u64).collect();
    let cohort: Vec<u64> = ages.iter().copied().filter(|&a| a >= 40).collect();
    let read8 = |b: &[u8]| -> u8 { params::deserialize::<tfhe::FheUint8>(b, params::LIMIT_CIPHERTEXT, "output").unwrap().decrypt(&ck) };
    let (count, max, min) = (read8(&one_pass[0]), read8(&one_pass[2]), read8(&one_pass[3]));
    let sum: u16 = params::deserialize::<tfhe::FheUint16>(&one_pass[1], params::LIMIT_CIPHERTEXT, "output").unwrap().decrypt(&ck);
    assert_eq!((count as u64, sum as u64, max as u64, min as u64), (cohort.len() as u64, cohort.iter().sum(), 75, 45));

    tfhe::with_server_key_as_context(sk.clone(), || {
        let run = |from: usize, to: usize| {
            let mut ex = Executor::new(serde_json::from_str(TREE_PLAN).unwrap(), 1).unwrap();
            ex.begin_at(from as u64).unwrap();
            for c in &chunks[from..to] {
                ex.feed(&sk, c, &[0]).unwrap();
            }
            ex.state().unwrap()
        };
        let (a, b, c) = (run(0, 2), run(2, 3), run(3, 4));
        let fresh = || Executor::new(serde_json::from_str(TREE_PLAN).unwrap(), 1).unwrap();
        let mut d = fresh();
        assert!(d.merge(&sk, &b).unwrap_err().to_string().contains("chunk order"), "a run before its predecessor");
        d.merge(&sk, &a).unwrap();
        assert!(d.merge(&sk, &c).is_err(), "a gap (chunk 2 missing)");
        assert!(d.merge(&sk, &a).is_err(), "the same run twice");
        d.merge(&sk, &b).unwrap();
        d.merge(&sk, &c).unwrap();
        assert_eq!(d.chunks(), (0, 4));
        let other = TREE_PLAN.replace("\"min_cohort\": 3", "\"min_cohort\": 4");
        let mut e = Executor::new(serde_json::from_str(&other).unwrap(), 1).unwrap();
        assert!(e.merge(&sk, &a).unwrap_err().to_string().contains("another query plan"));
        // A partial result claiming other chunks than its nodes cover, or cut short.
        let mut shifted = a.clone();
        shifted[16 + 1 + 32..16 + 1 + 32 + 8].copy_from_slice(&1u64.to_le_bytes());
        let mut f = fresh();
        f.begin_at(1).unwrap();
        assert!(f.merge(&sk, &shifted).is_err(), "nodes not at the claimed chunks");
        assert!(fresh().merge(&sk, &a[..a.len() - 1]).is_err(), "truncated");
        let mut longer = a.clone();
        longer.push(0);
        assert!(fresh().merge(&sk, &longer).is_err(), "trailing bytes");
        // A finished executor must hold the chunks from 0.
        let mut g = fresh();
        g.begin_at(2).unwrap();
        g.merge(&sk, &c).unwrap_err(); // starts at 3, not 2
        g.merge(&sk, &b).unwrap();
        let unfinished = g.finish(&sk).err().expect("an executor without chunk 0 cannot finish");
        assert!(unfinished.to_string().contains("merge the partial results from chunk 0"), "{unfinished}");
    });
}
