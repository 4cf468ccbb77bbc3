//! `Threshold.java`: the JNI surface of the threshold release; the math and formats are in
//! `release.rs`.

use jni::objects::{JByteArray, JClass, JIntArray, JLongArray, JObjectArray};
use jni::sys::{jint, jlong};
use jni::EnvUnowned;
use tfhe::prelude::Tagged;
use zeroize::Zeroize;

use crate::error::{entry, Result};
use crate::release;

fn int_vec(env: &mut jni::Env<'_>, arr: &JIntArray<'_>) -> Result<Vec<usize>> {
    let mut v = vec![0; arr.len(env)?];
    arr.get_region(env, 0, &mut v)?;
    Ok(v.into_iter().map(|x| x.max(0) as usize).collect())
}

fn int_array<'l>(env: &mut jni::Env<'l>, values: &[jint]) -> Result<JIntArray<'l>> {
    let arr = env.new_int_array(values.len())?;
    arr.set_region(env, 0, values)?;
    Ok(arr)
}

/// A share's custodian index, n and t (after the same validation a partial does).
#[unsafe(no_mangle)]
pub extern "system" fn Java_org_medvault_fhe_Threshold_nativeShareInfo<'l>(
    mut env: EnvUnowned<'l>,
    _c: JClass<'l>,
    share: JByteArray<'l>,
) -> JIntArray<'l> {
    entry(&mut env, |env| {
        let mut sb = env.convert_byte_array(&share)?;
        let info = release::share_info(&sb);
        sb.zeroize();
        let (i, n, t) = info?;
        int_array(env, &[i as jint, n as jint, t as jint])
    })
}

/// The (n, t) guard alone, so callers can refuse before generating keys.
#[unsafe(no_mangle)]
pub extern "system" fn Java_org_medvault_fhe_Threshold_nativeCheck<'l>(mut env: EnvUnowned<'l>, _c: JClass<'l>, n: jint, t: jint) {
    entry(&mut env, |_| release::check_parameters(usize::try_from(n).unwrap_or(0), usize::try_from(t).unwrap_or(0)))
}

/// Deals the client key's noise-squashing key into n shares; the plain secret never leaves Rust.
#[unsafe(no_mangle)]
pub extern "system" fn Java_org_medvault_fhe_Threshold_nativeDeal<'l>(
    mut env: EnvUnowned<'l>,
    _c: JClass<'l>,
    ck: jlong,
    n: jint,
    t: jint,
) -> JObjectArray<'l> {
    entry(&mut env, |env| {
        let ck = unsafe { crate::client_key::get(ck) }?;
        let (n, t) = (usize::try_from(n).unwrap_or(0), usize::try_from(t).unwrap_or(0));
        let mut shares = crate::runtime::run(|| release::deal_key(&ck.key, n, t))?;
        let arr = crate::handle::byte_arrays(env, &shares);
        shares.iter_mut().for_each(|b| b.zeroize());
        arr
    })
}

/// Squashes the noise of an integer result (server key with noise squashing), serialized.
#[unsafe(no_mangle)]
pub extern "system" fn Java_org_medvault_fhe_Threshold_nativeSquash<'l>(
    mut env: EnvUnowned<'l>,
    _c: JClass<'l>,
    sk: jlong,
    ct: jlong,
) -> JByteArray<'l> {
    entry(&mut env, |env| {
        let sk = unsafe { crate::server_key::get(sk) }?;
        let ct = unsafe { crate::ciphertext::get(ct) }?;
        crate::params::check_same_key("ciphertext", ct.tag(), "server key", sk.key.tag())?;
        let bytes = crate::runtime::compute(&sk.key, || release::squash_to_bytes(ct))?;
        Ok(env.byte_array_from_slice(&bytes)?)
    })
}

/// A custodian's partial decryption (`release::partial_bytes`).
#[unsafe(no_mangle)]
pub extern "system" fn Java_org_medvault_fhe_Threshold_nativePartial<'l>(
    mut env: EnvUnowned<'l>,
    _c: JClass<'l>,
    share: JByteArray<'l>,
    active: JIntArray<'l>,
    key_id: JByteArray<'l>,
    squashed: JObjectArray<'l>,
    bits: JIntArray<'l>,
) -> JByteArray<'l> {
    entry(&mut env, |env| {
        let mut sb = env.convert_byte_array(&share)?;
        let share = release::share_from_bytes(&sb);
        sb.zeroize();
        let share = share?;
        let act = int_vec(env, &active)?;
        let widths = int_vec(env, &bits)?;
        let key_id = env.convert_byte_array(&key_id)?;
        let cts = crate::handle::from_byte_arrays(env, &squashed)?;
        let out = crate::runtime::run(|| release::partial_bytes(&share, &act, &key_id, &cts, &widths))?;
        Ok(env.byte_array_from_slice(&out)?)
    })
}

/// The squashed block count per ciphertext of a native partial (its one reader is Rust).
#[unsafe(no_mangle)]
pub extern "system" fn Java_org_medvault_fhe_Threshold_nativePartialBlocks<'l>(
    mut env: EnvUnowned<'l>,
    _c: JClass<'l>,
    partial: JByteArray<'l>,
) -> JIntArray<'l> {
    entry(&mut env, |env| {
        let bytes = env.convert_byte_array(&partial)?;
        let p = release::parse_partial(&bytes)?;
        let counts: Vec<jint> = p.values.iter().map(|v| v.len() as jint).collect();
        int_array(env, &counts)
    })
}

/// Combines exactly t partials of one signer set into the plaintext integers (as u64).
#[unsafe(no_mangle)]
pub extern "system" fn Java_org_medvault_fhe_Threshold_nativeCombine<'l>(
    mut env: EnvUnowned<'l>,
    _c: JClass<'l>,
    squashed: JObjectArray<'l>,
    bits: JIntArray<'l>,
    partials: JObjectArray<'l>,
) -> JLongArray<'l> {
    entry(&mut env, |env| {
        let cts = crate::handle::from_byte_arrays(env, &squashed)?;
        let widths = int_vec(env, &bits)?;
        let ps = crate::handle::from_byte_arrays(env, &partials)?;
        let values = crate::runtime::run(|| release::combine_partials(&cts, &widths, &ps))?;
        let longs: Vec<jlong> = values.into_iter().map(|v| v as jlong).collect();
        crate::handle::long_array(env, &longs)
    })
}
