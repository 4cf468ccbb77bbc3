//! Tests of the native layer without a JVM, on real keys with MedVault's parameters.
//! Only client keys and public keys here (cheap); server-key operations are tested from Java.

use medvault_native::ciphertext::{Ct, Kind};
use medvault_native::client_key::{self, decrypt, encrypt};
use medvault_native::error::{catch, Code};
use medvault_native::params::{self, Features};
use medvault_native::{compact_list, public_key};

fn key() -> client_key::ClientKeyBox {
    client_key::generate(Features { compression: false, noise_squashing: false }).expect("keygen")
}

#[test]
fn value_ranges_are_checked() {
    assert_eq!(Kind::U8.check_value(255).unwrap(), 255);
    assert_eq!(Kind::U8.check_value(256).unwrap_err().code, Code::InvalidInput);
    assert_eq!(Kind::U16.check_value(65_536).unwrap_err().code, Code::InvalidInput);
    assert_eq!(Kind::U32.check_value(u32::MAX as u64 + 1).unwrap_err().code, Code::InvalidInput);
    assert_eq!(Kind::U64.check_value(u64::MAX).unwrap(), u64::MAX);
    assert_eq!(Kind::Bool.check_value(2).unwrap_err().code, Code::InvalidInput);
    assert_eq!(Kind::from_code(9).unwrap_err().code, Code::InvalidInput);
}

#[test]
fn panics_become_internal_errors() {
    medvault_native::error::install_quiet_panic_hook();
    let e = catch(|| -> medvault_native::error::Result<()> { panic!("boom {}", 7) }).unwrap_err();
    assert_eq!(e.code, Code::Internal);
    assert!(e.message.contains("boom 7"), "{}", e.message);
    let e = catch(|| -> medvault_native::error::Result<()> { panic!("static message") }).unwrap_err();
    assert!(e.message.contains("static message"), "{}", e.message);
}

#[test]
fn encrypt_decrypt_round_trip_and_key_id() {
    let k = key();
    assert_eq!(k.key_id().len(), 32);
    for (kind, v) in [(Kind::Bool, 1), (Kind::U8, 255), (Kind::U16, 65_535), (Kind::U32, 7), (Kind::U64, u64::MAX)] {
        let ct = encrypt(&k.key, kind, v).unwrap();
        assert_eq!(ct.kind(), kind);
        assert_eq!(ct.tag().data(), k.key_id());
        assert_eq!(decrypt(&k.key, &ct).unwrap(), v, "{kind:?}");
        let bytes = ct.serialize().unwrap();
        let back = Ct::deserialize(kind, &bytes).unwrap();
        assert_eq!(decrypt(&k.key, &back).unwrap(), v, "{kind:?} after serialization");
    }
}

#[test]
fn another_key_is_refused() {
    let a = key();
    let b = key();
    assert_ne!(a.key_id(), b.key_id());
    let ct = encrypt(&a.key, Kind::U8, 5).unwrap();
    assert_eq!(decrypt(&b.key, &ct).unwrap_err().code, Code::KeyMismatch);
}

#[test]
fn bad_bytes_are_refused_with_codes() {
    let k = key();
    let bytes = encrypt(&k.key, Kind::U16, 1234).unwrap().serialize().unwrap();
    let truncated = Ct::deserialize(Kind::U16, &bytes[..bytes.len() - 10]).err().unwrap();
    assert_eq!(truncated.code, Code::CorruptData, "{}", truncated.message);
    let width = Ct::deserialize(Kind::U8, &bytes).err().unwrap();
    assert_eq!(width.code, Code::KeyMismatch, "{}", width.message);
    let foreign = params::foreign_parameter_ciphertext().unwrap();
    let e = Ct::deserialize(Kind::U8, &foreign).err().unwrap();
    assert_eq!(e.code, Code::KeyMismatch, "{}", e.message);
    assert!(Ct::deserialize(Kind::Bool, &[]).is_err());
}

#[test]
fn compact_lists_expand_without_a_server_key() {
    let k = key();
    let pk = &k.public;
    assert_eq!(params::key_id_of(pk).unwrap().as_slice(), k.key_id());
    let kinds = [Kind::U8, Kind::U16, Kind::Bool, Kind::U64, Kind::U32];
    let values = [200u64, 40_000, 1, u64::MAX - 1, 123_456];
    let list = public_key::encrypt_list(pk, &kinds, &values).unwrap();
    let bytes = params::serialize(&list, params::LIMIT_LIST, "list").unwrap();
    let list = compact_list::deserialize(&bytes).unwrap();
    assert_eq!(compact_list::kinds(&list).unwrap(), kinds);
    // No server key is installed on this thread: expansion must not need one.
    let cts = compact_list::expand(&list).unwrap();
    for ((ct, kind), v) in cts.iter().zip(kinds).zip(values) {
        assert_eq!(ct.kind(), kind);
        assert_eq!(decrypt(&k.key, ct).unwrap(), v);
    }
    let e = public_key::encrypt_list(pk, &[Kind::U8], &[256]).err().unwrap();
    assert_eq!(e.code, Code::InvalidInput);
    assert!(e.message.contains("#0"), "{}", e.message);
}

#[test]
fn bytes_after_an_object_are_refused() {
    let k = key();
    let pk = client_key::trusted_public(&k.key).unwrap();
    let mut bytes = params::serialize(&pk, params::LIMIT_PUBLIC_KEY, "public key").unwrap();
    let back: tfhe::CompactPublicKey = params::deserialize(&bytes, params::LIMIT_PUBLIC_KEY, "public key").unwrap();
    drop(back);
    bytes.extend_from_slice(&[0u8; 8]);
    let e = params::deserialize::<tfhe::CompactPublicKey>(&bytes, params::LIMIT_PUBLIC_KEY, "public key").unwrap_err();
    assert_eq!(e.code, Code::CorruptData, "{}", e.message);
    assert!(e.message.contains("8 unexpected byte(s)"), "{}", e.message);
}

/// Found by `scripts/fuzz` (target `keys`): a client key whose submission key claims another
/// message modulus panicked inside tfhe-rs when the loaded key was put back together. Every
/// parameter field at the end of a real key file, set to a huge value, must be refused with an
/// error, never a panic.
#[test]
fn client_keys_with_forged_parameters_are_refused_without_a_panic() {
    medvault_native::error::install_quiet_panic_hook();
    // Without compression and squashing keys, the submission key's parameters are near the end.
    let k = key();
    let bytes = params::serialize(&*k.key, params::LIMIT_CLIENT_KEY, "client key").unwrap();
    assert!(client_key::load(&bytes).is_ok());
    let mut panics = Vec::new();
    for at in (bytes.len().saturating_sub(1200)..bytes.len() - 8).step_by(1) {
        let mut b = bytes.clone();
        b[at..at + 8].copy_from_slice(&0xF5FF_3EFF_FFFF_FFFFu64.to_le_bytes());
        if let Err(e) = catch(|| client_key::load(&b).map(|_| ())) {
            if e.code == Code::Internal {
                panics.push(format!("byte {at}: {}", e.message.lines().next().unwrap_or("")));
            }
        }
    }
    for p in panics.iter().take(3) {
        eprintln!("forged key panicked at {p}");
    }
    assert!(panics.is_empty(), "{} forged keys panicked, e.g. {:?}", panics.len(), &panics[..panics.len().min(3)]);
}
