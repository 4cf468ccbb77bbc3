//! `CompactPublicKey.java`: encrypts with no secret, many values at once into a compact list.

use jni::objects::{JByteArray, JClass, JIntArray, JLongArray};
use jni::sys::jlong;
use jni::EnvUnowned;
use tfhe::prelude::*;
use tfhe::{CompactCiphertextList, CompactPublicKey};

use crate::ciphertext::Kind;
use crate::error::{catch, entry, Error, Result};
use crate::handle;
use crate::params::{self, LIMIT_PUBLIC_KEY};
use crate::runtime;

/// # Safety
/// `h` must be a live public key handle.
pub unsafe fn get<'a>(h: jlong) -> Result<&'a CompactPublicKey> {
    unsafe { handle::borrow::<CompactPublicKey>(h, "public key") }
}

/// Encrypts `values[i]` as type `kinds[i]` into one compact list (one shared mask per 2048 blocks).
/// The list is not packed, so expanding it needs no bootstrap.
pub fn encrypt_list(pk: &CompactPublicKey, kinds: &[Kind], values: &[u64]) -> Result<CompactCiphertextList> {
    if kinds.len() != values.len() {
        return Err(Error::invalid(format!("{} types for {} values", kinds.len(), values.len())));
    }
    let mut b = CompactCiphertextList::builder(pk);
    for (i, (&kind, &value)) in kinds.iter().zip(values).enumerate() {
        let v = kind
            .check_value(value)
            .map_err(|e| Error::invalid(format!("value #{i}: {}", e.message)))?;
        match kind {
            Kind::Bool => {
                if v > 1 {
                    return Err(Error::invalid(format!("value #{i}: {v} is not a boolean (0 or 1)")));
                }
                b.push(v == 1);
            }
            Kind::U8 => {
                b.push(v as u8);
            }
            Kind::U16 => {
                b.push(v as u16);
            }
            Kind::U32 => {
                b.push(v as u32);
            }
            Kind::U64 => {
                b.push(v);
            }
        }
    }
    Ok(b.build())
}

crate::native_destroy!(Java_org_medvault_fhe_CompactPublicKey_nativeDestroy, CompactPublicKey);

crate::native_key_id!(Java_org_medvault_fhe_CompactPublicKey_nativeKeyId, |h| get(h)?.tag());

/// The hash of the key's own contents (tag excluded): equals the key id for the public key made
/// at key generation, so a key set's files can be checked against each other.
#[unsafe(no_mangle)]
pub extern "system" fn Java_org_medvault_fhe_CompactPublicKey_nativeContentHash<'l>(
    mut env: EnvUnowned<'l>,
    _c: JClass<'l>,
    h: jlong,
) -> JByteArray<'l> {
    entry(&mut env, |env| {
        let pk = unsafe { get(h) }?;
        let id = catch(|| params::key_id_of(pk))?;
        Ok(env.byte_array_from_slice(&id)?)
    })
}

#[unsafe(no_mangle)]
pub extern "system" fn Java_org_medvault_fhe_CompactPublicKey_nativeSerialize<'l>(
    mut env: EnvUnowned<'l>,
    _c: JClass<'l>,
    h: jlong,
) -> JByteArray<'l> {
    entry(&mut env, |env| {
        let k = unsafe { get(h) }?;
        let bytes = catch(|| params::serialize(k, LIMIT_PUBLIC_KEY, "public key"))?;
        Ok(env.byte_array_from_slice(&bytes)?)
    })
}

/// A public key read from its bytes: MedVault's parameters (conformance-checked) and a key id.
pub fn load(data: &[u8]) -> Result<CompactPublicKey> {
    let pk: CompactPublicKey = params::deserialize_conformant(data, LIMIT_PUBLIC_KEY, &params::default_pke_params()?, "public key")?;
    if pk.tag().data().len() != 32 {
        return Err(Error::corrupt("public key has no MedVault key id"));
    }
    Ok(pk)
}

#[unsafe(no_mangle)]
pub extern "system" fn Java_org_medvault_fhe_CompactPublicKey_nativeDeserialize<'l>(
    mut env: EnvUnowned<'l>,
    _c: JClass<'l>,
    bytes: JByteArray<'l>,
) -> jlong {
    entry(&mut env, |env| {
        let data = env.convert_byte_array(&bytes)?;
        let pk = catch(|| load(&data))?;
        Ok(handle::into_handle(pk))
    })
}

#[unsafe(no_mangle)]
pub extern "system" fn Java_org_medvault_fhe_CompactPublicKey_nativeEncryptList<'l>(
    mut env: EnvUnowned<'l>,
    _c: JClass<'l>,
    h: jlong,
    kinds: JIntArray<'l>,
    values: JLongArray<'l>,
) -> jlong {
    entry(&mut env, |env| {
        let pk = unsafe { get(h) }?;
        let mut k = vec![0; kinds.len(env)?];
        kinds.get_region(env, 0, &mut k)?;
        let mut v = vec![0 as jlong; values.len(env)?];
        values.get_region(env, 0, &mut v)?;
        let kinds = k.into_iter().map(Kind::from_code).collect::<Result<Vec<_>>>()?;
        let values: Vec<u64> = v.into_iter().map(|x| x as u64).collect();
        let list = runtime::run(|| encrypt_list(pk, &kinds, &values))?;
        Ok(handle::into_handle(list))
    })
}
