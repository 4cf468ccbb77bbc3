//! `SubmissionKey.java`: records from untrusted submitters (patients, portals).
//!
//! A submitter encrypts under the key set's *submission key*, a compact public key with
//! dedicated zero-knowledge parameters (`PARAM_PKE_MESSAGE_2_CARRY_2_KS_PBS_TUNIFORM_2M128`), and
//! proves with the key set's public CRS that it knows every plaintext and that each is well formed
//! (ZKv2). The proof's metadata binds the key id, the schema digest and the record id.
//!
//! The vault verifies, casts and sanitizes through tfhe-rs's verifying expansion (one keyswitch and
//! one bootstrap per block: carries and padding the submitter chose are gone), then clamps every
//! value into its declared range and recomputes every square from the clamped value. What it stores
//! is the sanitized record: standalone ciphertexts that queries read with no further bootstrap.

use jni::objects::{JByteArray, JClass, JIntArray, JLongArray};
use jni::sys::{jint, jlong};
use jni::EnvUnowned;
use tfhe::core_crypto::prelude::LweCiphertextCount;
use tfhe::integer::ciphertext::IntegerProvenCompactCiphertextListConformanceParams;
use tfhe::prelude::*;
use tfhe::zk::{CompactPkeCrs, ZkComputeLoad};
use tfhe::{CompactPublicKey, FheBool, FheUint16, FheUint32, FheUint64, FheUint8, ProvenCompactCiphertextList, ServerKey};

use crate::ciphertext::{Ct, Kind};
use crate::error::{catch, entry, Error, Result};
use crate::params::{self, LIMIT_CIPHERTEXT, LIMIT_LIST, LIMIT_PUBLIC_KEY};
use crate::{handle, runtime, server_key};

/// Plaintext bits one proof covers (128 packed 4-bit messages). A record with more is proven in
/// several pieces, each with its own proof; the CRS grows with this number.
pub const CRS_BITS: usize = 512;
/// Safe-serialization limit of the CRS (~3.7 MB at 512 bits).
pub const LIMIT_CRS: u64 = 1 << 26;
/// The first bytes of a stored sanitized record (a vault chunk that is not a compact list).
pub const SANITIZED_MAGIC: &[u8; 8] = b"MVSREC1\n";

/// The public half of the submission path: the zk-capable public key and the CRS.
pub struct SubmissionKey {
    pub public: CompactPublicKey,
    pub crs: CompactPkeCrs,
}

/// # Safety
/// `h` must be a live submission key handle.
pub unsafe fn get<'a>(h: jlong) -> Result<&'a SubmissionKey> {
    unsafe { handle::borrow::<SubmissionKey>(h, "submission key") }
}

fn crs_conformance() -> Result<tfhe::zk::CompactPkeCrsConformanceParams> {
    tfhe::zk::new_compact_pke_crs_conformance_params(params::submission_pke_params(), LweCiphertextCount(CRS_BITS / 4))
        .map_err(|e| Error::internal(format!("CRS parameters: {e}")))
}

/// Makes the CRS for the key set's configuration. Whoever runs this could forge proofs: it runs
/// where the keys are made, with the same trust.
pub fn make_crs(config: tfhe::Config) -> Result<CompactPkeCrs> {
    Ok(CompactPkeCrs::from_config(config, CRS_BITS)?)
}

pub fn load(public: &[u8], crs: &[u8]) -> Result<SubmissionKey> {
    let public: CompactPublicKey =
        params::deserialize_conformant(public, LIMIT_PUBLIC_KEY, &params::submission_pke_params(), "submission public key")?;
    if public.tag().data().len() != 32 {
        return Err(Error::corrupt("submission public key has no MedVault key id"));
    }
    let crs: CompactPkeCrs = params::deserialize_conformant(crs, LIMIT_CRS, &crs_conformance()?, "submission CRS")?;
    Ok(SubmissionKey { public, crs })
}

/// Encrypts `values` as `kinds` under the submission key and proves it, bound to `metadata`.
pub fn prove(key: &SubmissionKey, kinds: &[Kind], values: &[u64], metadata: &[u8]) -> Result<ProvenCompactCiphertextList> {
    if kinds.len() != values.len() {
        return Err(Error::invalid(format!("{} types for {} values", kinds.len(), values.len())));
    }
    let mut b = ProvenCompactCiphertextList::builder(&key.public);
    for (i, (&kind, &value)) in kinds.iter().zip(values).enumerate() {
        let v = kind.check_value(value).map_err(|e| Error::invalid(format!("value #{i}: {}", e.message)))?;
        match kind {
            Kind::Bool => {
                if v > 1 {
                    return Err(Error::invalid(format!("value #{i}: {v} is not a boolean (0 or 1)")));
                }
                b.push(v == 1)
            }
            Kind::U8 => b.push(v as u8),
            Kind::U16 => b.push(v as u16),
            Kind::U32 => b.push(v as u32),
            Kind::U64 => b.push(v),
        };
    }
    Ok(b.build_with_proof_packed(&key.crs, metadata, ZkComputeLoad::Verify)?)
}

/// What the vault allows in each slot of a record: the largest stored value, and for a square the
/// slot whose value it squares.
pub struct SlotRule {
    pub kind: Kind,
    pub max: u64,
    pub square_of: Option<usize>,
}

/// Loads a submitted list and checks everything that needs no server key: parameters, key id,
/// the layout, and the proof against `metadata`. Cheap next to sanitizing: run it on every
/// record of an import before any of them is sanitized.
pub fn verify(key: &SubmissionKey, bytes: &[u8], metadata: &[u8], rules: &[SlotRule]) -> Result<ProvenCompactCiphertextList> {
    let list = load_checked(key, bytes, rules)?;
    match list.verify(&key.crs, &key.public, metadata) {
        tfhe::zk::ZkVerificationOutcome::Valid => Ok(list),
        tfhe::zk::ZkVerificationOutcome::Invalid => Err(Error::mismatch(
            "the proof of encryption does not verify for this key, schema and record id",
        )),
    }
}

fn load_checked(key: &SubmissionKey, bytes: &[u8], rules: &[SlotRule]) -> Result<ProvenCompactCiphertextList> {
    let conformance = IntegerProvenCompactCiphertextListConformanceParams::from_crs_and_parameters(
        params::submission_pke_params(),
        &key.crs,
    );
    let list: ProvenCompactCiphertextList = match params::deserialize_conformant(bytes, LIMIT_LIST, &conformance, "proven record") {
        Ok(l) => l,
        Err(e) => {
            // An unproven compact list (the pre-proof record format, or a crafted one) says so.
            if tfhe::safe_serialization::safe_deserialize::<tfhe::CompactCiphertextList>(bytes, LIMIT_LIST).is_ok() {
                return Err(Error::mismatch("the record carries no proof of encryption (an unproven compact list)"));
            }
            return Err(e);
        }
    };
    params::check_same_key("proven record", list.tag(), "submission key", key.public.tag())?;
    let n = list.len();
    if n != rules.len() {
        return Err(Error::mismatch(format!("the record holds {n} values; the vault's layout has {}", rules.len())));
    }
    for (i, r) in rules.iter().enumerate() {
        let kind = list
            .get_kind_of(i)
            .ok_or_else(|| Error::corrupt(format!("list element #{i} has no valid type")))
            .and_then(crate::compact_list::kind_of)?;
        if kind != r.kind {
            return Err(Error::mismatch(format!("value #{i} is {} but the vault's layout has {}", kind.name(), r.kind.name())));
        }
        if let Some(j) = r.square_of {
            if j >= rules.len() || rules[j].square_of.is_some() {
                return Err(Error::invalid(format!("slot {i}: bad square rule")));
            }
        }
    }
    Ok(list)
}

/// Verifies a submitted list against `metadata`, expands it through tfhe-rs's casting and
/// sanitizing path, and applies the schema's ranges. Refuses anything else with a reason.
pub fn verify_and_sanitize(
    sk: &ServerKey,
    key: &SubmissionKey,
    bytes: &[u8],
    metadata: &[u8],
    rules: &[SlotRule],
) -> Result<Vec<Ct>> {
    params::check_same_key("submission key", key.public.tag(), "server key", sk.tag())?;
    let list = load_checked(key, bytes, rules)?;
    let n = list.len();
    runtime::compute(sk, || {
        let expander = list
            .verify_and_expand(&key.crs, &key.public, metadata)
            .map_err(|e| Error::mismatch(format!("the proof of encryption does not verify for this key, schema and record id ({e})")))?;
        let mut out: Vec<Ct> = Vec::with_capacity(n);
        for (i, r) in rules.iter().enumerate() {
            let missing = || Error::corrupt(format!("list element #{i} is missing"));
            let ct = match r.kind {
                Kind::Bool => Ct::Bool(expander.get::<FheBool>(i)?.ok_or_else(missing)?),
                Kind::U8 => Ct::U8(expander.get::<FheUint8>(i)?.ok_or_else(missing)?),
                Kind::U16 => Ct::U16(expander.get::<FheUint16>(i)?.ok_or_else(missing)?),
                Kind::U32 => Ct::U32(expander.get::<FheUint32>(i)?.ok_or_else(missing)?),
                Kind::U64 => Ct::U64(expander.get::<FheUint64>(i)?.ok_or_else(missing)?),
            };
            // A square is recomputed below: clamping it first would be wasted work.
            out.push(if r.square_of.is_some() { ct } else { clamp(ct, r.max)? });
        }
        // Squares from the clamped values: whatever square was submitted is discarded.
        for (i, r) in rules.iter().enumerate() {
            if let Some(j) = r.square_of {
                let base = server_key::cast(&out[j], r.kind)?;
                out[i] = server_key::binary(2, &base, &base)?; // MUL
            }
        }
        Ok(out)
    })
}

/// min(x, max): a no-op (and no bootstrap) when the type cannot exceed `max`.
fn clamp(ct: Ct, max: u64) -> Result<Ct> {
    let full = |bits: u32| if bits >= 64 { u64::MAX } else { (1u64 << bits) - 1 };
    if max >= full(ct.kind().bits()) {
        return Ok(ct);
    }
    Ok(match ct {
        Ct::Bool(b) => Ct::Bool(b), // expansion already made it 0 or 1
        Ct::U8(x) => Ct::U8(x.min(max as u8)),
        Ct::U16(x) => Ct::U16(x.min(max as u16)),
        Ct::U32(x) => Ct::U32(x.min(max as u32)),
        Ct::U64(x) => Ct::U64(x.min(max)),
    })
}

/// The stored form of a sanitized record: magic, then per value its kind, length and bytes.
pub fn sanitized_to_bytes(cts: &[Ct]) -> Result<Vec<u8>> {
    let mut out = SANITIZED_MAGIC.to_vec();
    out.extend_from_slice(&(cts.len() as u32).to_le_bytes());
    for ct in cts {
        let b = ct.serialize()?;
        out.push(ct.kind() as u8);
        out.extend_from_slice(&(b.len() as u32).to_le_bytes());
        out.extend_from_slice(&b);
    }
    Ok(out)
}

pub fn is_sanitized(bytes: &[u8]) -> bool {
    bytes.starts_with(SANITIZED_MAGIC)
}

/// Reads a stored sanitized record back, every value checked against MedVault's parameters.
pub fn sanitized_from_bytes(bytes: &[u8]) -> Result<Vec<Ct>> {
    let corrupt = || Error::corrupt("corrupt sanitized record");
    let mut rest = bytes.strip_prefix(SANITIZED_MAGIC.as_slice()).ok_or_else(corrupt)?;
    let mut take = |n: usize| -> Result<&[u8]> {
        if rest.len() < n {
            return Err(corrupt());
        }
        let (a, b) = rest.split_at(n);
        rest = b;
        Ok(a)
    };
    let count = u32::from_le_bytes(take(4)?.try_into().map_err(|_| corrupt())?) as usize;
    if count > 4096 {
        return Err(corrupt());
    }
    let mut out = Vec::with_capacity(count);
    for _ in 0..count {
        let kind = Kind::from_code(take(1)?[0] as jint)?;
        let len = u32::from_le_bytes(take(4)?.try_into().map_err(|_| corrupt())?) as u64;
        if len > LIMIT_CIPHERTEXT {
            return Err(corrupt());
        }
        out.push(Ct::deserialize(kind, take(len as usize)?)?);
    }
    if !rest.is_empty() {
        return Err(Error::corrupt("sanitized record has trailing bytes"));
    }
    Ok(out)
}

// ---- JNI ----

crate::native_destroy!(Java_org_medvault_fhe_SubmissionKey_nativeDestroy, SubmissionKey);

crate::native_key_id!(Java_org_medvault_fhe_SubmissionKey_nativeKeyId, |h| get(h)?.public.tag());

#[unsafe(no_mangle)]
pub extern "system" fn Java_org_medvault_fhe_SubmissionKey_nativeLoad<'l>(
    mut env: EnvUnowned<'l>,
    _c: JClass<'l>,
    public: JByteArray<'l>,
    crs: JByteArray<'l>,
) -> jlong {
    entry(&mut env, |env| {
        let p = env.convert_byte_array(&public)?;
        let c = env.convert_byte_array(&crs)?;
        Ok(handle::into_handle(runtime::run(|| load(&p, &c))?))
    })
}

/// part 0: the public key, part 1: the CRS.
#[unsafe(no_mangle)]
pub extern "system" fn Java_org_medvault_fhe_SubmissionKey_nativeSerialize<'l>(
    mut env: EnvUnowned<'l>,
    _c: JClass<'l>,
    h: jlong,
    part: jint,
) -> JByteArray<'l> {
    entry(&mut env, |env| {
        let k = unsafe { get(h) }?;
        let bytes = catch(|| match part {
            0 => params::serialize(&k.public, LIMIT_PUBLIC_KEY, "submission public key"),
            1 => params::serialize(&k.crs, LIMIT_CRS, "submission CRS"),
            _ => Err(Error::invalid("no such part")),
        })?;
        Ok(env.byte_array_from_slice(&bytes)?)
    })
}

fn rules_of(env: &mut jni::Env<'_>, kinds: Vec<Kind>, max: Vec<u64>, square_of: &JIntArray<'_>) -> Result<Vec<SlotRule>> {
    let mut sq = vec![0; square_of.len(env)?];
    square_of.get_region(env, 0, &mut sq)?;
    if max.len() != kinds.len() || sq.len() != kinds.len() {
        return Err(Error::invalid("layout arrays differ in length"));
    }
    Ok(kinds
        .iter()
        .zip(&max)
        .zip(&sq)
        .map(|((&kind, &max), &s)| SlotRule { kind, max, square_of: usize::try_from(s).ok() })
        .collect())
}

fn kinds_of(env: &mut jni::Env<'_>, kinds: &JIntArray<'_>) -> Result<Vec<Kind>> {
    let mut k = vec![0; kinds.len(env)?];
    kinds.get_region(env, 0, &mut k)?;
    k.into_iter().map(Kind::from_code).collect()
}

fn longs(env: &mut jni::Env<'_>, arr: &JLongArray<'_>) -> Result<Vec<u64>> {
    let mut v = vec![0 as jlong; arr.len(env)?];
    arr.get_region(env, 0, &mut v)?;
    Ok(v.into_iter().map(|x| x as u64).collect())
}

#[unsafe(no_mangle)]
pub extern "system" fn Java_org_medvault_fhe_SubmissionKey_nativeProve<'l>(
    mut env: EnvUnowned<'l>,
    _c: JClass<'l>,
    h: jlong,
    kinds: JIntArray<'l>,
    values: JLongArray<'l>,
    metadata: JByteArray<'l>,
) -> JByteArray<'l> {
    entry(&mut env, |env| {
        let key = unsafe { get(h) }?;
        let kinds = kinds_of(env, &kinds)?;
        let values = longs(env, &values)?;
        let metadata = env.convert_byte_array(&metadata)?;
        let bytes = runtime::run(|| {
            let list = prove(key, &kinds, &values, &metadata)?;
            params::serialize(&list, LIMIT_LIST, "proven record")
        })?;
        Ok(env.byte_array_from_slice(&bytes)?)
    })
}

/// Verifies a submitted record's proof (no server key needed); throws when it does not hold.
#[unsafe(no_mangle)]
pub extern "system" fn Java_org_medvault_fhe_SubmissionKey_nativeVerify<'l>(
    mut env: EnvUnowned<'l>,
    _c: JClass<'l>,
    h: jlong,
    list: JByteArray<'l>,
    metadata: JByteArray<'l>,
    kinds: JIntArray<'l>,
    max: JLongArray<'l>,
    square_of: JIntArray<'l>,
) {
    entry(&mut env, |env| {
        let key = unsafe { get(h) }?;
        let list = env.convert_byte_array(&list)?;
        let metadata = env.convert_byte_array(&metadata)?;
        let kinds = kinds_of(env, &kinds)?;
        let max = longs(env, &max)?;
        let rules = rules_of(env, kinds, max, &square_of)?;
        runtime::run(|| verify(key, &list, &metadata, &rules).map(|_| ()))
    })
}

/// Verifies and sanitizes a submitted record; returns its stored form.
/// `max[i]`: largest value of slot i; `square_of[i]`: the slot squared into slot i, or -1.
#[unsafe(no_mangle)]
pub extern "system" fn Java_org_medvault_fhe_SubmissionKey_nativeSanitize<'l>(
    mut env: EnvUnowned<'l>,
    _c: JClass<'l>,
    h: jlong,
    server_key: jlong,
    list: JByteArray<'l>,
    metadata: JByteArray<'l>,
    kinds: JIntArray<'l>,
    max: JLongArray<'l>,
    square_of: JIntArray<'l>,
) -> JByteArray<'l> {
    entry(&mut env, |env| {
        let key = unsafe { get(h) }?;
        let sk = unsafe { server_key::get(server_key) }?;
        let list = env.convert_byte_array(&list)?;
        let metadata = env.convert_byte_array(&metadata)?;
        let kinds = kinds_of(env, &kinds)?;
        let max = longs(env, &max)?;
        let rules = rules_of(env, kinds, max, &square_of)?;
        let bytes = catch(|| {
            let cts = verify_and_sanitize(&sk.key, key, &list, &metadata, &rules)?;
            sanitized_to_bytes(&cts)
        })?;
        Ok(env.byte_array_from_slice(&bytes)?)
    })
}

#[unsafe(no_mangle)]
pub extern "system" fn Java_org_medvault_fhe_SubmissionKey_nativeReadSanitized<'l>(
    mut env: EnvUnowned<'l>,
    _c: JClass<'l>,
    chunk: JByteArray<'l>,
) -> JLongArray<'l> {
    entry(&mut env, |env| {
        let bytes = env.convert_byte_array(&chunk)?;
        let cts = catch(|| sanitized_from_bytes(&bytes))?;
        handle::ciphertext_array(env, cts)
    })
}

#[unsafe(no_mangle)]
pub extern "system" fn Java_org_medvault_fhe_SubmissionKey_nativeSanitizedKinds<'l>(
    mut env: EnvUnowned<'l>,
    _c: JClass<'l>,
    chunk: JByteArray<'l>,
) -> JIntArray<'l> {
    entry(&mut env, |env| {
        let bytes = env.convert_byte_array(&chunk)?;
        let kinds: Vec<jint> = catch(|| sanitized_from_bytes(&bytes))?.iter().map(|c| c.kind() as jint).collect();
        let arr = env.new_int_array(kinds.len())?;
        arr.set_region(env, 0, &kinds)?;
        Ok(arr)
    })
}
