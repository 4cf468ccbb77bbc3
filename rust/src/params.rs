//! Parameters, configurations, size limits, key ids and conformance checks.
//!
//! MedVault uses one parameter family: tfhe-rs's secure CPU defaults
//! (`PARAM_MESSAGE_2_CARRY_2_KS_PBS_TUNIFORM_2M128`, p_fail <= 2^-128), optionally with
//! compression and noise squashing enabled. Every key set also carries a dedicated public key for
//! proven submissions (`PARAM_PKE_MESSAGE_2_CARRY_2_KS_PBS_TUNIFORM_2M128`, ZKv2) and, in its server
//! key, the key switch that casts such ciphertexts to the compute parameters.

use sha2::{Digest, Sha256};
use tfhe::prelude::*;
use tfhe::safe_serialization::{safe_deserialize, safe_deserialize_conformant, safe_serialize};
use tfhe::shortint::parameters::{
    COMP_PARAM_MESSAGE_2_CARRY_2_KS_PBS_TUNIFORM_2M128,
    NOISE_SQUASHING_PARAM_MESSAGE_2_CARRY_2_KS_PBS_TUNIFORM_2M128, PARAM_KEYSWITCH_MESSAGE_2_CARRY_2_KS_PBS_TUNIFORM_2M128,
    PARAM_MESSAGE_2_CARRY_2_KS_PBS_TUNIFORM_2M128, PARAM_PKE_MESSAGE_2_CARRY_2_KS_PBS_TUNIFORM_2M128,
};
use tfhe::shortint::parameters::CompactPublicKeyEncryptionParameters;
use tfhe::{CompactPublicKey, Config, ConfigBuilder, Tag};

use crate::error::{Error, Result};

pub const PARAMETER_SET_NAME: &str = "PARAM_MESSAGE_2_CARRY_2_KS_PBS_TUNIFORM_2M128";

/// Size limits for safe (de)serialization. They bound what a corrupted length field can make
/// bincode allocate; they are well above what legitimate objects of each kind need.
pub const LIMIT_CIPHERTEXT: u64 = 1 << 26; // FheUint64 is ~0.5 MiB
/// A vault chunk holds at most 8 masks of 2048 blocks (~256 KB), a proven record ~20 KB: 64 MiB
/// is a wide margin, and the most a crafted length field can make a reader allocate (it was 2 GiB:
/// 13 bytes made MedVault allocate 2 GB, found by fuzzing).
pub const LIMIT_LIST: u64 = 1 << 26;
pub const LIMIT_PUBLIC_KEY: u64 = 1 << 22; // 33 KB written
pub const LIMIT_CLIENT_KEY: u64 = 1 << 24; // ≤ 90 KB written (noise squashing included)
pub const LIMIT_COMPRESSED_SERVER_KEY: u64 = 1 << 30; // the server.key file: ≤ 330 MB written
pub const LIMIT_SERVER_KEY: u64 = 1 << 32; // decompressed, in memory: > 1 GiB with noise squashing

/// The feature flags a key set was generated with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Features {
    pub compression: bool,
    pub noise_squashing: bool,
}

impl Features {
    pub const ALL: [Features; 4] = [
        Features { compression: false, noise_squashing: false },
        Features { compression: true, noise_squashing: false },
        Features { compression: false, noise_squashing: true },
        Features { compression: true, noise_squashing: true },
    ];

    pub fn config(self) -> Config {
        let mut b = ConfigBuilder::with_custom_parameters(PARAM_MESSAGE_2_CARRY_2_KS_PBS_TUNIFORM_2M128)
            // MedVault never draws encrypted randomness; the dedicated OPRF bootstrapping key
            // would add ~60 MB to every server key for nothing.
            .use_dedicated_oprf_key(false)
            .use_dedicated_compact_public_key_parameters((
                PARAM_PKE_MESSAGE_2_CARRY_2_KS_PBS_TUNIFORM_2M128,
                PARAM_KEYSWITCH_MESSAGE_2_CARRY_2_KS_PBS_TUNIFORM_2M128,
            ));
        if self.compression {
            b = b.enable_compression(COMP_PARAM_MESSAGE_2_CARRY_2_KS_PBS_TUNIFORM_2M128);
        }
        if self.noise_squashing {
            b = b.enable_noise_squashing(NOISE_SQUASHING_PARAM_MESSAGE_2_CARRY_2_KS_PBS_TUNIFORM_2M128);
        }
        b.build()
    }
}

/// The trusted public key (the admin's batch path): the compute parameters used for encryption,
/// so its lists expand with no bootstrap.
pub fn default_pke_params() -> Result<CompactPublicKeyEncryptionParameters> {
    CompactPublicKeyEncryptionParameters::try_from(PARAM_MESSAGE_2_CARRY_2_KS_PBS_TUNIFORM_2M128)
        .map_err(|e| Error::internal(format!("public key parameters: {e}")))
}

/// The submission public key: dedicated parameters that support zero-knowledge proofs.
pub fn submission_pke_params() -> CompactPublicKeyEncryptionParameters {
    PARAM_PKE_MESSAGE_2_CARRY_2_KS_PBS_TUNIFORM_2M128
}

/// Key id: SHA-256 over a domain label and the safe serialization of the compact public key
/// with an empty tag. Anyone holding the public key can recompute it.
pub fn key_id_of(public_key: &CompactPublicKey) -> Result<[u8; 32]> {
    let mut untagged = public_key.clone();
    untagged.tag_mut().set_data(&[]);
    let mut bytes = Vec::new();
    safe_serialize(&untagged, &mut bytes, LIMIT_PUBLIC_KEY)
        .map_err(|e| Error::internal(format!("serializing public key: {e}")))?;
    let mut h = Sha256::new();
    h.update(b"medvault-key-id-v1\0");
    h.update(&bytes);
    Ok(h.finalize().into())
}

pub fn set_key_id(tag: &mut Tag, id: &[u8; 32]) {
    tag.set_data(id);
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub fn tag_hex(tag: &Tag) -> String {
    if tag.data().is_empty() {
        "(none)".to_string()
    } else {
        hex(tag.data())
    }
}

/// Both objects must carry the same key id.
pub fn check_same_key(what: &str, have: &Tag, key_what: &str, key: &Tag) -> Result<()> {
    if have.data() != key.data() {
        return Err(Error::mismatch(format!(
            "{what} belongs to key {} but the {key_what} is key {}",
            tag_hex(have),
            tag_hex(key)
        )));
    }
    Ok(())
}

pub fn serialize<T>(obj: &T, limit: u64, what: &str) -> Result<Vec<u8>>
where
    T: serde::Serialize + tfhe::Versionize + tfhe::named::Named,
{
    let mut out = Vec::new();
    safe_serialize(obj, &mut out, limit)
        .map_err(|e| Error::invalid(format!("cannot serialize {what}: {e}")))?;
    Ok(out)
}

fn load_error(what: &str, e: String) -> Error {
    if e.contains("not conformant") {
        Error::mismatch(format!(
            "{what} does not match MedVault's parameters ({PARAMETER_SET_NAME}): another parameter set, or another width"
        ))
    } else if e.contains("expected type") {
        Error::corrupt(format!("bytes do not hold a {what}: {e}"))
    } else {
        Error::corrupt(format!("corrupt or truncated {what}: {e}"))
    }
}

/// Reads one object that must take up all of `bytes`: a file with bytes after its content (a
/// padded, concatenated or otherwise corrupt file) is refused, never loaded as if intact.
fn whole<T>(bytes: &[u8], what: &str, read: impl FnOnce(&mut &[u8]) -> std::result::Result<T, String>) -> Result<T> {
    let mut rest = bytes;
    let value = read(&mut rest).map_err(|e| load_error(what, e))?;
    if !rest.is_empty() {
        return Err(Error::corrupt(format!(
            "{what} is followed by {} unexpected byte(s) after its end: a corrupt or padded file",
            rest.len()
        )));
    }
    Ok(value)
}

pub fn deserialize<T>(bytes: &[u8], limit: u64, what: &str) -> Result<T>
where
    T: serde::de::DeserializeOwned + tfhe::Unversionize + tfhe::named::Named,
{
    whole(bytes, what, |r| safe_deserialize::<T>(r, limit))
}

pub fn deserialize_conformant<T>(bytes: &[u8], limit: u64, params: &T::ParameterSet, what: &str) -> Result<T>
where
    T: serde::de::DeserializeOwned + tfhe::Unversionize + tfhe::named::Named + tfhe::conformance::ParameterSetConformant,
{
    whole(bytes, what, |r| safe_deserialize_conformant::<T>(r, limit, params))
}

/// An FheUint8 under another secure parameter set (MESSAGE_1_CARRY_1), serialized: for tests
/// that check loading refuses foreign parameters.
pub fn foreign_parameter_ciphertext() -> Result<Vec<u8>> {
    use tfhe::shortint::parameters::v1_8::V1_8_PARAM_MESSAGE_1_CARRY_1_KS_PBS_TUNIFORM_2M128;
    let config = ConfigBuilder::with_custom_parameters(V1_8_PARAM_MESSAGE_1_CARRY_1_KS_PBS_TUNIFORM_2M128).build();
    let ck = tfhe::ClientKey::generate(config);
    let ct = tfhe::FheUint8::encrypt(200u8, &ck);
    serialize(&ct, LIMIT_CIPHERTEXT, "FheUint8")
}
