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

pub struct ClientKeyBox {
    pub key: ClientKey,
    pub features: Features,
    /// The public key made at generation, whose hash is the key id. A key loaded from bytes has
    /// none; public keys derived from it are equally valid but hash differently (encryption is
    /// randomized), so the key id is the one stamped at generation.
    pub public: Option<CompactPublicKey>,
    /// The submission public key made at generation; taken once, with a new CRS, by the key
    /// ceremony (a CRS is made once per key set, where the keys are made).
    pub submission: std::sync::Mutex<Option<CompactPublicKey>>,
}

impl ClientKeyBox {
    /// The 32-byte key id stamped into this key's tag.
    pub fn key_id(&self) -> &[u8] {
        self.key.tag().data()
    }
}

/// The key's features, and whether it has the dedicated submission key.
pub fn features_of(key: &ClientKey) -> (Features, bool) {
    let (_, dedicated, compression, squashing, ..) = key.clone().into_raw_parts();
    (Features { compression: compression.is_some(), noise_squashing: squashing.is_some() }, dedicated.is_some())
}

/// The trusted public key: encryption under the compute key itself, so its lists expand with no
/// bootstrap (`CompactPublicKey::try_new` would use the dedicated submission key).
pub fn trusted_public(key: &ClientKey) -> Result<CompactPublicKey> {
    let (integer_key, ..) = key.clone().into_raw_parts();
    let pk = tfhe::integer::public_key::CompactPublicKey::try_new(&integer_key)?;
    Ok(CompactPublicKey::from_raw_parts(pk, key.tag().clone()))
}

pub fn generate(features: Features) -> Result<ClientKeyBox> {
    let config = features.config();
    let mut key = ClientKey::generate(config);
    let mut public = trusted_public(&key)?;
    let id = params::key_id_of(&public)?;
    params::set_key_id(key.tag_mut(), &id);
    params::set_key_id(public.tag_mut(), &id);
    let mut submission_public = CompactPublicKey::try_new(&key)?; // carries the key id from `key`
    params::set_key_id(submission_public.tag_mut(), &id);
    Ok(ClientKeyBox { key, features, public: Some(public), submission: std::sync::Mutex::new(Some(submission_public)) })
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
        let mut bytes = crate::error::catch(|| params::serialize(&k.key, LIMIT_CLIENT_KEY, "client key"))?;
        let out = env.byte_array_from_slice(&bytes);
        zeroize::Zeroize::zeroize(&mut bytes);
        Ok(out?)
    })
}

#[unsafe(no_mangle)]
pub extern "system" fn Java_org_medvault_fhe_ClientKey_nativeDeserialize<'l>(
    mut env: EnvUnowned<'l>,
    _c: JClass<'l>,
    bytes: JByteArray<'l>,
) -> jlong {
    entry(&mut env, |env| {
        let mut data = env.convert_byte_array(&bytes)?;
        let result = crate::error::catch(|| {
            let key: ClientKey = params::deserialize(&data, LIMIT_CLIENT_KEY, "client key")?;
            let (features, dedicated) = features_of(&key);
            if !dedicated {
                return Err(Error::mismatch(
                    "this client key predates proven submissions (no submission key); generate a new key set",
                ));
            }
            // The key must use MedVault's parameters and carry a key id.
            let expected: tfhe::shortint::AtomicPatternParameters =
                tfhe::shortint::parameters::PARAM_MESSAGE_2_CARRY_2_KS_PBS_TUNIFORM_2M128.into();
            if key.computation_parameters() != expected {
                return Err(Error::mismatch(format!(
                    "client key parameters are not MedVault's ({})",
                    params::PARAMETER_SET_NAME
                )));
            }
            if key.tag().data().len() != 32 {
                return Err(Error::corrupt("client key has no MedVault key id"));
            }
            Ok(ClientKeyBox { key, features, public: None, submission: std::sync::Mutex::new(None) })
        });
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
        let pk = runtime::run(|| match &k.public {
            Some(pk) => Ok(pk.clone()),
            None => trusted_public(&k.key),
        })?;
        Ok(handle::into_handle(pk))
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
