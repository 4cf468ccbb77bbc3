//! Proven submissions: what a hostile submitter can send, and what the vault keeps of it.
//! Real keys with MedVault's parameters; one key set for the whole file.

use std::sync::OnceLock;
use std::time::Instant;

use medvault_native::ciphertext::{Ct, Kind};
use medvault_native::client_key::{self, decrypt};
use medvault_native::error::Code;
use medvault_native::params::{self, Features, LIMIT_LIST};
use medvault_native::submission::{self, SlotRule, SubmissionKey};
use tfhe::prelude::*;

struct Keys {
    ck: client_key::ClientKeyBox,
    sk: tfhe::ServerKey,
    sub: SubmissionKey,
}

fn keys() -> &'static Keys {
    static K: OnceLock<Keys> = OnceLock::new();
    K.get_or_init(|| {
        let ck = client_key::generate(Features { compression: false, noise_squashing: false }).expect("keygen");
        let t = Instant::now();
        let sub = ck.take_submission_key().expect("submission key");
        eprintln!("CRS ({} bits): {:.1} s", submission::CRS_BITS, t.elapsed().as_secs_f64());
        let sk = ck.key.generate_server_key();
        Keys { ck, sk, sub }
    })
}

// age (u8, 0..=120), age² (u16), sex (category of 3: u8 0..=2), smoker (bool)
fn rules() -> Vec<SlotRule> {
    vec![
        SlotRule { kind: Kind::U8, max: 120, square_of: None },
        SlotRule { kind: Kind::U16, max: 14_400, square_of: Some(0) },
        SlotRule { kind: Kind::U8, max: 2, square_of: None },
        SlotRule { kind: Kind::Bool, max: 1, square_of: None },
    ]
}

fn kinds() -> Vec<Kind> {
    rules().iter().map(|r| r.kind).collect()
}

fn metadata(record_id: &str) -> Vec<u8> {
    format!("medvault-record-v2\0{}\0schema\0{record_id}", params::hex(keys().ck.key_id())).into_bytes()
}

fn prove(values: &[u64], record_id: &str) -> Vec<u8> {
    let t = Instant::now();
    let list = submission::prove(&keys().sub, &kinds(), values, &metadata(record_id)).expect("prove");
    let bytes = params::serialize(&list, LIMIT_LIST, "proven record").unwrap();
    eprintln!("prove: {:.2} s, {} bytes", t.elapsed().as_secs_f64(), bytes.len());
    bytes
}

fn sanitize(bytes: &[u8], record_id: &str) -> medvault_native::error::Result<Vec<u64>> {
    let k = keys();
    let t = Instant::now();
    let cts = submission::verify_and_sanitize(&k.sk, &k.sub, bytes, &metadata(record_id), &rules())?;
    eprintln!("verify+sanitize: {:.2} s", t.elapsed().as_secs_f64());
    // The stored form round-trips.
    let stored = submission::sanitized_to_bytes(&cts).unwrap();
    let back = submission::sanitized_from_bytes(&stored).unwrap();
    Ok(back.iter().map(|c| decrypt(&k.ck.key, c).unwrap()).collect())
}

#[test]
fn an_honest_record_passes_unchanged() {
    let bytes = prove(&[52, 2704, 1, 1], "p-1");
    assert_eq!(sanitize(&bytes, "p-1").unwrap(), vec![52, 2704, 1, 1]);
}

#[test]
fn out_of_range_values_are_clamped_and_the_square_recomputed() {
    // In-type but out of range: age 255, a square that is not age², category index 3 of 3.
    let bytes = prove(&[255, 7, 3, 0], "p-2");
    assert_eq!(sanitize(&bytes, "p-2").unwrap(), vec![120, 14_400, 2, 0]);
    let bytes = prove(&[40, 65_535, 0, 1], "p-3");
    assert_eq!(sanitize(&bytes, "p-3").unwrap(), vec![40, 1600, 0, 1]);
}

#[test]
fn a_proof_replayed_under_another_record_id_is_refused() {
    let bytes = prove(&[30, 900, 0, 0], "victim");
    let e = sanitize(&bytes, "copy-1").unwrap_err();
    assert_eq!(e.code, Code::KeyMismatch, "{}", e.message);
    assert!(e.message.contains("proof of encryption does not verify"), "{}", e.message);
}

#[test]
fn an_unproven_list_is_refused() {
    // A compact list with no proof, as the trusted path (or a crafted client) writes it.
    let k = keys();
    let pk = client_key::trusted_public(&k.ck.key).unwrap();
    let list = medvault_native::public_key::encrypt_list(&pk, &kinds(), &[30, 900, 0, 0]).unwrap();
    let bytes = params::serialize(&list, LIMIT_LIST, "list").unwrap();
    let e = sanitize(&bytes, "p-4").unwrap_err();
    assert!(e.message.contains("no proof of encryption"), "{}", e.message);
}

#[test]
fn a_tampered_proven_list_is_refused() {
    // Flip bits in the ciphertext part (e.g. to set carry bits): the proof no longer holds,
    // or the list is not even well formed.
    let bytes = prove(&[30, 900, 0, 0], "p-5");
    for at in [bytes.len() / 3, bytes.len() / 2, bytes.len() - 200] {
        let mut bad = bytes.clone();
        bad[at] ^= 0x10;
        assert!(sanitize(&bad, "p-5").is_err(), "flipped byte {at} accepted");
    }
}

#[test]
fn a_proof_under_another_key_is_refused() {
    let other = client_key::generate(Features { compression: false, noise_squashing: false }).unwrap();
    let other_sub = SubmissionKey { public: other.submission.lock().unwrap().take().unwrap(), crs: keys().sub.crs.clone() };
    let list = submission::prove(&other_sub, &kinds(), &[30, 900, 0, 0], &metadata("p-6")).unwrap();
    let bytes = params::serialize(&list, LIMIT_LIST, "list").unwrap();
    let e = sanitize(&bytes, "p-6").unwrap_err();
    assert_eq!(e.code, Code::KeyMismatch, "{}", e.message);
}

#[test]
fn a_list_of_the_wrong_layout_is_refused() {
    let list = submission::prove(&keys().sub, &[Kind::U8, Kind::U8], &[1, 2], &metadata("p-7")).unwrap();
    let bytes = params::serialize(&list, LIMIT_LIST, "list").unwrap();
    let e = sanitize(&bytes, "p-7").unwrap_err();
    assert!(e.message.contains("layout"), "{}", e.message);
}

#[test]
fn stored_sanitized_records_refuse_corruption() {
    let k = keys();
    let ct = Ct::U8(tfhe::FheUint8::encrypt(7u8, &*k.ck.key));
    let bytes = submission::sanitized_to_bytes(&[ct]).unwrap();
    let mut trailing = bytes.clone();
    trailing.push(0);
    assert!(submission::sanitized_from_bytes(&trailing).is_err());
    assert!(submission::sanitized_from_bytes(&bytes[..bytes.len() - 1]).is_err());
    assert!(submission::sanitized_from_bytes(b"MVSREC1\n\xff\xff\xff\xff").is_err());
}

/// Writes a submission key and CRS for trying outside clients (node-tfhe) against this build
/// (`MEDVAULT_ZK_FIXTURE=DIR cargo test --release --test submission -- --ignored`).
#[test]
#[ignore]
fn write_fixture() {
    let dir = std::path::PathBuf::from(std::env::var("MEDVAULT_ZK_FIXTURE").expect("MEDVAULT_ZK_FIXTURE"));
    std::fs::create_dir_all(&dir).unwrap();
    let k = keys();
    std::fs::write(dir.join("submission.key"), params::serialize(&k.sub.public, params::LIMIT_PUBLIC_KEY, "pk").unwrap()).unwrap();
    std::fs::write(dir.join("submission.crs"), params::serialize(&k.sub.crs, submission::LIMIT_CRS, "crs").unwrap()).unwrap();
    std::fs::write(dir.join("key-id.txt"), params::hex(k.ck.key_id())).unwrap();
}
