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
use crate::params::{self, Features, LIMIT_KEY};
use crate::runtime;

pub struct ClientKeyBox {
    pub key: ClientKey,
    pub features: Features,
    /// The public key made at generation, whose hash is the key id. A key loaded from bytes has
    /// none; public keys derived from it are equally valid but hash differently (encryption is
    /// randomized), so the key id is the one stamped at generation.
    pub public: Option<CompactPublicKey>,
}

impl ClientKeyBox {
    /// The 32-byte key id stamped into this key's tag.
    pub fn key_id(&self) -> &[u8] {
        self.key.tag().data()
    }
}

pub fn features_of(key: &ClientKey) -> Features {
    let (_, _, compression, squashing, ..) = key.clone().into_raw_parts();
    Features { compression: compression.is_some(), noise_squashing: squashing.is_some() }
}

pub fn generate(features: Features) -> Result<ClientKeyBox> {
    let config = features.config();
    let mut key = ClientKey::generate(config);
    let mut public = CompactPublicKey::try_new(&key)?;
    let id = params::key_id_of(&public)?;
    params::set_key_id(key.tag_mut(), &id);
    params::set_key_id(public.tag_mut(), &id);
    Ok(ClientKeyBox { key, features, public: Some(public) })
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
        let mut bytes = crate::error::catch(|| params::serialize(&k.key, LIMIT_KEY, "client key"))?;
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
            let key: ClientKey = params::deserialize(&data, LIMIT_KEY, "client key")?;
            let features = features_of(&key);
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
            Ok(ClientKeyBox { key, features, public: None })
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
            None => Ok(CompactPublicKey::try_new(&k.key)?),
        })?;
        Ok(handle::into_handle(pk))
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
