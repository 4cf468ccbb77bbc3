//! `CompactCiphertextList.java`: the storage form of public-key encrypted values.

use jni::objects::{JByteArray, JClass, JIntArray, JLongArray};
use jni::sys::{jint, jlong};
use jni::EnvUnowned;
use tfhe::integer::parameters::CompactCiphertextListConformanceParams;
use tfhe::prelude::*;
use tfhe::{CompactCiphertextList, FheTypes};

use crate::ciphertext::{Ct, Kind};
use crate::error::{catch, entry, Error, Result};
use crate::handle;
use crate::params::{self, LIMIT_LIST};
use crate::runtime;

/// # Safety
/// `h` must be a live compact list handle.
pub unsafe fn get<'a>(h: jlong) -> Result<&'a CompactCiphertextList> {
    unsafe { handle::borrow::<CompactCiphertextList>(h, "compact ciphertext list") }
}

pub fn kind_of(t: FheTypes) -> Result<Kind> {
    Ok(match t {
        FheTypes::Bool => Kind::Bool,
        FheTypes::Uint8 => Kind::U8,
        FheTypes::Uint16 => Kind::U16,
        FheTypes::Uint32 => Kind::U32,
        FheTypes::Uint64 => Kind::U64,
        other => return Err(Error::unsupported(format!("list element of type {other:?} is not supported"))),
    })
}

pub fn kinds(list: &CompactCiphertextList) -> Result<Vec<Kind>> {
    (0..list.len())
        .map(|i| {
            list.get_kind_of(i)
                .ok_or_else(|| Error::corrupt(format!("list element #{i} has no valid type")))
                .and_then(kind_of)
        })
        .collect()
}

/// Expands every element (no bootstrap: the list is unpacked) into standalone ciphertexts.
pub fn expand(list: &CompactCiphertextList) -> Result<Vec<Ct>> {
    let kinds = kinds(list)?;
    let exp = list.expand()?;
    let mut out = Vec::with_capacity(kinds.len());
    for (i, kind) in kinds.into_iter().enumerate() {
        let missing = || Error::corrupt(format!("list element #{i} is missing"));
        out.push(match kind {
            Kind::Bool => Ct::Bool(exp.get(i)?.ok_or_else(missing)?),
            Kind::U8 => Ct::U8(exp.get(i)?.ok_or_else(missing)?),
            Kind::U16 => Ct::U16(exp.get(i)?.ok_or_else(missing)?),
            Kind::U32 => Ct::U32(exp.get(i)?.ok_or_else(missing)?),
            Kind::U64 => Ct::U64(exp.get(i)?.ok_or_else(missing)?),
        });
    }
    Ok(out)
}

pub fn deserialize(bytes: &[u8]) -> Result<CompactCiphertextList> {
    let conformance = CompactCiphertextListConformanceParams::from_parameters_and_size_constraint(
        params::default_pke_params()?,
        tfhe::conformance::ListSizeConstraint::try_size_in_range(0, 1 << 24)
            .map_err(|e| Error::internal(e.to_string()))?,
    )
    .allow_unpacked();
    let list: CompactCiphertextList = params::deserialize_conformant(bytes, LIMIT_LIST, &conformance, "compact ciphertext list")?;
    kinds(&list)?; // every element must have a supported type
    Ok(list)
}

crate::native_destroy!(Java_org_medvault_fhe_CompactCiphertextList_nativeDestroy, CompactCiphertextList);

crate::native_key_id!(Java_org_medvault_fhe_CompactCiphertextList_nativeKeyId, |h| get(h)?.tag());

#[unsafe(no_mangle)]
pub extern "system" fn Java_org_medvault_fhe_CompactCiphertextList_nativeKinds<'l>(
    mut env: EnvUnowned<'l>,
    _c: JClass<'l>,
    h: jlong,
) -> JIntArray<'l> {
    entry(&mut env, |env| {
        let ks: Vec<jint> = kinds(unsafe { get(h) }?)?.into_iter().map(|k| k as jint).collect();
        let arr = env.new_int_array(ks.len())?;
        arr.set_region(env, 0, &ks)?;
        Ok(arr)
    })
}

#[unsafe(no_mangle)]
pub extern "system" fn Java_org_medvault_fhe_CompactCiphertextList_nativeSerialize<'l>(
    mut env: EnvUnowned<'l>,
    _c: JClass<'l>,
    h: jlong,
) -> JByteArray<'l> {
    entry(&mut env, |env| {
        let list = unsafe { get(h) }?;
        let bytes = catch(|| params::serialize(list, LIMIT_LIST, "compact ciphertext list"))?;
        Ok(env.byte_array_from_slice(&bytes)?)
    })
}

#[unsafe(no_mangle)]
pub extern "system" fn Java_org_medvault_fhe_CompactCiphertextList_nativeDeserialize<'l>(
    mut env: EnvUnowned<'l>,
    _c: JClass<'l>,
    bytes: JByteArray<'l>,
) -> jlong {
    entry(&mut env, |env| {
        let data = env.convert_byte_array(&bytes)?;
        Ok(handle::into_handle(catch(|| deserialize(&data))?))
    })
}

#[unsafe(no_mangle)]
pub extern "system" fn Java_org_medvault_fhe_CompactCiphertextList_nativeExpand<'l>(
    mut env: EnvUnowned<'l>,
    _c: JClass<'l>,
    h: jlong,
) -> JLongArray<'l> {
    entry(&mut env, |env| {
        let list = unsafe { get(h) }?;
        let cts = runtime::run(|| expand(list))?;
        handle::ciphertext_array(env, cts)
    })
}
