//! `ClientKey.java`: the secret key. Generation stamps the key id into the key's tag, so every
//! key and ciphertext derived from it carries the id.

use jni::objects::{JByteArray, JClass};
use jni::sys::{jboolean, jint, jlong};
use jni::EnvUnowned;
use tfhe::prelude::*;
use tfhe::{ClientKey, CompactPublicKey, FheBool, FheUint16, FheUint32, FheUint64, FheUint8};

use crate::ciphertext::{self, Ct, Kind};
use crate::error::{entry, Error, Result};
use crate::handle;
use crate::params::{self, Features, LIMIT_CLIENT_KEY};
use crate::runtime;
use crate::secret;

pub struct ClientKeyBox {
    /// Wiped when the box is freed (see `Drop`).
    pub key: std::mem::ManuallyDrop<ClientKey>,
    pub features: Features,
    /// The trusted public key: at generation the one whose hash is the key id; for a key loaded
    /// from bytes one made at load (equally valid, but it hashes differently, since encryption is
    /// randomized: the key id is the one stamped at generation).
    pub public: CompactPublicKey,
    /// The submission public key made at generation; taken once, with a new CRS, by the key
    /// ceremony (a CRS is made once per key set, where the keys are made).
    pub submission: std::sync::Mutex<Option<CompactPublicKey>>,
}

impl Drop for ClientKeyBox {
    fn drop(&mut self) {
        // SAFETY: `key` is not used after this (the box is being dropped).
        crate::secret::wipe(unsafe { std::mem::ManuallyDrop::take(&mut self.key) });
    }
}

impl ClientKeyBox {
    /// The 32-byte key id stamped into this key's tag.
    pub fn key_id(&self) -> &[u8] {
        self.key.tag().data()
    }
}

/// What a key owned here is read for, taken apart and put back together (no copy): its features,
/// whether it has the dedicated submission key, and its trusted public key.
fn inspect(key: ClientKey) -> Result<(ClientKey, Features, bool, CompactPublicKey)> {
    let parts = secret::parts(key);
    // tfhe-rs asserts (panics) when parts it is given disagree: check them first (a crafted key
    // file found by fuzzing had a submission key with another message modulus).
    if let Err(e) = check_parts(&parts) {
        secret::wipe_parts(parts);
        return Err(e);
    }
    let features = Features { compression: parts.2.is_some(), noise_squashing: parts.3.is_some() };
    let dedicated = parts.1.is_some();
    let public = tfhe::integer::public_key::CompactPublicKey::try_new(&parts.0);
    let key = secret::assemble(parts);
    match public {
        Ok(pk) => {
            let public = CompactPublicKey::from_raw_parts(pk, key.tag().clone());
            Ok((key, features, dedicated, public))
        }
        Err(e) => {
            secret::wipe(key);
            Err(e.into())
        }
    }
}

/// A key of MedVault's parameters: the compute key's and, if present, the submission key's.
fn check_parts(parts: &secret::Parts) -> Result<()> {
    let expected: tfhe::shortint::AtomicPatternParameters =
        tfhe::shortint::parameters::PARAM_MESSAGE_2_CARRY_2_KS_PBS_TUNIFORM_2M128.into();
    if parts.0.parameters() != expected {
        return Err(Error::mismatch(format!("client key parameters are not MedVault's ({})", params::PARAMETER_SET_NAME)));
    }
    if let Some((dedicated, _)) = &parts.1 {
        if dedicated.key().parameters() != params::submission_pke_params() {
            return Err(Error::mismatch("the client key's submission key parameters are not MedVault's"));
        }
    }
    Ok(())
}

/// The trusted public key: encryption under the compute key itself, so its lists expand with no
/// bootstrap (`CompactPublicKey::try_new` would use the dedicated submission key). For a borrowed
/// key: it works on a copy, wiped afterwards.
pub fn trusted_public(key: &ClientKey) -> Result<CompactPublicKey> {
    let copy = secret::parts(key.clone());
    let pk = tfhe::integer::public_key::CompactPublicKey::try_new(&copy.0);
    secret::wipe_parts(copy);
    Ok(CompactPublicKey::from_raw_parts(pk?, key.tag().clone()))
}

pub fn generate(features: Features) -> Result<ClientKeyBox> {
    let config = features.config();
    let (mut key, _, _, mut public) = inspect(ClientKey::generate(config))?;
    let id = params::key_id_of(&public)?;
    params::set_key_id(key.tag_mut(), &id);
    params::set_key_id(public.tag_mut(), &id);
    let submission_public = CompactPublicKey::try_new(&key);
    let key = std::mem::ManuallyDrop::new(key);
    let mut b = ClientKeyBox { key, features, public, submission: std::sync::Mutex::new(None) };
    let mut submission_public = submission_public?; // carries the key id from `key`
    params::set_key_id(submission_public.tag_mut(), &id);
    b.submission = std::sync::Mutex::new(Some(submission_public));
    Ok(b)
}

impl ClientKeyBox {
    /// The submission key of a freshly generated key set, with its CRS (made here, which takes a
    /// while). Only once, and only at generation.
    pub fn take_submission_key(&self) -> Result<crate::submission::SubmissionKey> {
        let public = self
            .submission
            .lock()
            .map_err(|_| Error::internal("submission key lock poisoned"))?
            .take()
            .ok_or_else(|| Error::unsupported("the submission key is made at key generation and can be taken once"))?;
        let crs = crate::submission::make_crs(self.features.config())?;
        Ok(crate::submission::SubmissionKey { public, crs })
    }
}

/// # Safety
/// `h` must be a live client key handle.
pub unsafe fn get<'a>(h: jlong) -> Result<&'a ClientKeyBox> {
    unsafe { handle::borrow::<ClientKeyBox>(h, "client key") }
}

pub fn encrypt(key: &ClientKey, kind: Kind, value: u64) -> Result<Ct> {
    let v = kind.check_value(value)?;
    Ok(match kind {
        Kind::Bool => {
            if v > 1 {
                return Err(Error::invalid(format!("value {v} is not a boolean (0 or 1)")));
            }
            Ct::Bool(FheBool::encrypt(v == 1, key))
        }
        Kind::U8 => Ct::U8(FheUint8::encrypt(v as u8, key)),
        Kind::U16 => Ct::U16(FheUint16::encrypt(v as u16, key)),
        Kind::U32 => Ct::U32(FheUint32::encrypt(v as u32, key)),
        Kind::U64 => Ct::U64(FheUint64::encrypt(v, key)),
    })
}

pub fn decrypt(key: &ClientKey, ct: &Ct) -> Result<u64> {
    params::check_same_key("ciphertext", ct.tag(), "client key", key.tag())?;
    Ok(match ct {
        Ct::Bool(x) => {
            let b: bool = x.decrypt(key);
            b as u64
        }
        Ct::U8(x) => {
            let v: u8 = x.decrypt(key);
            v as u64
        }
        Ct::U16(x) => {
            let v: u16 = x.decrypt(key);
            v as u64
        }
        Ct::U32(x) => {
            let v: u32 = x.decrypt(key);
            v as u64
        }
        Ct::U64(x) => x.decrypt(key),
    })
}

#[unsafe(no_mangle)]
pub extern "system" fn Java_org_medvault_fhe_ClientKey_nativeGenerate<'l>(
    mut env: EnvUnowned<'l>,
    _c: JClass<'l>,
    compression: jboolean,
    noise_squashing: jboolean,
) -> jlong {
    entry(&mut env, |_| {
        let features = Features { compression, noise_squashing };
        let key = runtime::run(|| generate(features))?;
        Ok(handle::into_handle(key))
    })
}

crate::native_destroy!(Java_org_medvault_fhe_ClientKey_nativeDestroy, ClientKeyBox);

crate::native_key_id!(Java_org_medvault_fhe_ClientKey_nativeKeyId, |h| get(h)?.key.tag());

#[unsafe(no_mangle)]
pub extern "system" fn Java_org_medvault_fhe_ClientKey_nativeFeatures<'l>(mut env: EnvUnowned<'l>, _c: JClass<'l>, h: jlong) -> jint {
    entry(&mut env, |_| {
        let k = unsafe { get(h) }?;
        Ok((k.features.compression as jint) | ((k.features.noise_squashing as jint) << 1))
    })
}

#[unsafe(no_mangle)]
pub extern "system" fn Java_org_medvault_fhe_ClientKey_nativeSerialize<'l>(
    mut env: EnvUnowned<'l>,
    _c: JClass<'l>,
    h: jlong,
) -> JByteArray<'l> {
    entry(&mut env, |env| {
        let k = unsafe { get(h) }?;
        let mut bytes = crate::error::catch(|| params::serialize(&*k.key, LIMIT_CLIENT_KEY, "client key"))?;
        let out = env.byte_array_from_slice(&bytes);
        zeroize::Zeroize::zeroize(&mut bytes);
        Ok(out?)
    })
}

/// A client key read from its serialized bytes (the caller wipes them), checked to be MedVault's:
/// its parameters, a key id, the dedicated submission key. Taken apart and put back once, with no
/// copy; a refused key is wiped.
pub fn load(data: &[u8]) -> Result<ClientKeyBox> {
    let key: ClientKey = params::deserialize(data, LIMIT_CLIENT_KEY, "client key")?;
    let (key, features, dedicated, public) = inspect(key)?;
    // From here on the box owns the key: every refusal below wipes it.
    let b = ClientKeyBox { key: std::mem::ManuallyDrop::new(key), features, public, submission: std::sync::Mutex::new(None) };
    let key = &b.key;
    if !dedicated {
        return Err(Error::mismatch(
            "this client key predates proven submissions (no submission key); generate a new key set",
        ));
    }
    // `inspect` checked the parameters; the key must also carry a key id.
    if key.tag().data().len() != 32 {
        return Err(Error::corrupt("client key has no MedVault key id"));
    }
    Ok(b)
}

#[unsafe(no_mangle)]
pub extern "system" fn Java_org_medvault_fhe_ClientKey_nativeDeserialize<'l>(
    mut env: EnvUnowned<'l>,
    _c: JClass<'l>,
    bytes: JByteArray<'l>,
) -> jlong {
    entry(&mut env, |env| {
        let mut data = env.convert_byte_array(&bytes)?;
        let result = crate::error::catch(|| load(&data));
        zeroize::Zeroize::zeroize(&mut data);
        Ok(handle::into_handle(result?))
    })
}

#[unsafe(no_mangle)]
pub extern "system" fn Java_org_medvault_fhe_ClientKey_nativeCompactPublicKey<'l>(
    mut env: EnvUnowned<'l>,
    _c: JClass<'l>,
    h: jlong,
) -> jlong {
    entry(&mut env, |_| {
        let k = unsafe { get(h) }?;
        Ok(handle::into_handle(k.public.clone()))
    })
}

/// The submission key made with this key at generation (public key and CRS), moved out.
#[unsafe(no_mangle)]
pub extern "system" fn Java_org_medvault_fhe_ClientKey_nativeTakeSubmissionKey<'l>(
    mut env: EnvUnowned<'l>,
    _c: JClass<'l>,
    h: jlong,
) -> jlong {
    entry(&mut env, |_| {
        let k = unsafe { get(h) }?;
        let s = runtime::run(|| k.take_submission_key())?;
        Ok(handle::into_handle(s))
    })
}

#[unsafe(no_mangle)]
pub extern "system" fn Java_org_medvault_fhe_ClientKey_nativeCompressedServerKey<'l>(
    mut env: EnvUnowned<'l>,
    _c: JClass<'l>,
    h: jlong,
) -> jlong {
    entry(&mut env, |_| {
        let k = unsafe { get(h) }?;
        let sk = runtime::run(|| Ok(k.key.generate_compressed_server_key()))?;
        Ok(handle::into_handle(sk))
    })
}

#[unsafe(no_mangle)]
pub extern "system" fn Java_org_medvault_fhe_ClientKey_nativeEncrypt<'l>(
    mut env: EnvUnowned<'l>,
    _c: JClass<'l>,
    h: jlong,
    kind: jint,
    value: jlong,
) -> jlong {
    entry(&mut env, |_| {
        let k = unsafe { get(h) }?;
        let kind = Kind::from_code(kind)?;
        let ct = runtime::run(|| encrypt(&k.key, kind, value as u64))?;
        Ok(handle::into_handle(ct))
    })
}

#[unsafe(no_mangle)]
pub extern "system" fn Java_org_medvault_fhe_ClientKey_nativeDecrypt<'l>(
    mut env: EnvUnowned<'l>,
    _c: JClass<'l>,
    h: jlong,
    ct: jlong,
) -> jlong {
    entry(&mut env, |_| {
        let k = unsafe { get(h) }?;
        let ct = unsafe { ciphertext::get(ct) }?;
        Ok(runtime::run(|| decrypt(&k.key, ct))? as jlong)
    })
}
