//! `ServerKey.java` (the evaluation key, used as a per-call context) and
//! `CompressedServerKey.java` (its storage form).

use jni::objects::{JByteArray, JClass, JLongArray};
use jni::sys::{jint, jlong};
use jni::EnvUnowned;
use tfhe::prelude::*;
use tfhe::{CompressedServerKey, ServerKey};

use crate::ciphertext::{self, Ct, Kind};
use crate::error::{catch, entry, Error, Result};
use crate::handle;
use crate::params::{self, Features, LIMIT_COMPRESSED_SERVER_KEY, LIMIT_SERVER_KEY};
use crate::runtime;

pub struct ServerKeyBox {
    pub key: ServerKey,
    pub features: Features,
}

pub struct CompressedServerKeyBox {
    pub key: CompressedServerKey,
    pub features: Features,
}

/// # Safety
/// `h` must be a live server key handle.
pub unsafe fn get<'a>(h: jlong) -> Result<&'a ServerKeyBox> {
    unsafe { handle::borrow::<ServerKeyBox>(h, "server key") }
}

/// # Safety
/// `h` must be a live compressed server key handle.
pub unsafe fn get_compressed<'a>(h: jlong) -> Result<&'a CompressedServerKeyBox> {
    unsafe { handle::borrow::<CompressedServerKeyBox>(h, "compressed server key") }
}

fn features_of_server_key(key: &ServerKey) -> Features {
    Features { compression: key.supports_compression(), noise_squashing: key.supports_noise_squashing() }
}

fn features_of_compressed(key: &CompressedServerKey) -> Features {
    Features { compression: key.has_compression_key(), noise_squashing: key.has_noise_squashing_key() }
}

/// Loads a server key of either form, checked against the MedVault configuration its own
/// feature flags claim (so a key with foreign parameters is refused, not used).
fn load<T>(bytes: &[u8], limit: u64, what: &str, features: impl Fn(&T) -> Features) -> Result<(T, Features)>
where
    T: serde::de::DeserializeOwned
        + tfhe::Unversionize
        + tfhe::named::Named
        + tfhe::conformance::ParameterSetConformant,
    T::ParameterSet: From<tfhe::Config>,
{
    let key: T = params::deserialize(bytes, limit, what)?;
    let f = features(&key);
    if !key.is_conformant(&T::ParameterSet::from(f.config())) {
        return Err(Error::mismatch(format!(
            "{what} does not match MedVault's parameters ({})",
            params::PARAMETER_SET_NAME
        )));
    }
    Ok((key, f))
}

// ---- CompressedServerKey.java ----

crate::native_destroy!(Java_org_medvault_fhe_CompressedServerKey_nativeDestroy, CompressedServerKeyBox);

crate::native_key_id!(Java_org_medvault_fhe_CompressedServerKey_nativeKeyId, |h| get_compressed(h)?.key.tag());

#[unsafe(no_mangle)]
pub extern "system" fn Java_org_medvault_fhe_CompressedServerKey_nativeFeatures<'l>(
    mut env: EnvUnowned<'l>,
    _c: JClass<'l>,
    h: jlong,
) -> jint {
    entry(&mut env, |_| Ok(feature_bits(unsafe { get_compressed(h) }?.features)))
}

pub fn feature_bits(f: Features) -> jint {
    (f.compression as jint) | ((f.noise_squashing as jint) << 1)
}

#[unsafe(no_mangle)]
pub extern "system" fn Java_org_medvault_fhe_CompressedServerKey_nativeSerialize<'l>(
    mut env: EnvUnowned<'l>,
    _c: JClass<'l>,
    h: jlong,
) -> JByteArray<'l> {
    entry(&mut env, |env| {
        let k = unsafe { get_compressed(h) }?;
        let bytes = catch(|| params::serialize(&k.key, LIMIT_COMPRESSED_SERVER_KEY, "compressed server key"))?;
        Ok(env.byte_array_from_slice(&bytes)?)
    })
}

#[unsafe(no_mangle)]
pub extern "system" fn Java_org_medvault_fhe_CompressedServerKey_nativeDeserialize<'l>(
    mut env: EnvUnowned<'l>,
    _c: JClass<'l>,
    bytes: JByteArray<'l>,
) -> jlong {
    entry(&mut env, |env| {
        let data = env.convert_byte_array(&bytes)?;
        let (key, features) = catch(|| load::<CompressedServerKey>(&data, LIMIT_COMPRESSED_SERVER_KEY, "compressed server key", features_of_compressed))?;
        Ok(handle::into_handle(CompressedServerKeyBox { key, features }))
    })
}

/// Loads a compressed server key straight from a file: a noise-squashing key is 287 MB, and
/// reading it here avoids holding it once more in the Java heap and once more as a JNI copy.
#[unsafe(no_mangle)]
pub extern "system" fn Java_org_medvault_fhe_CompressedServerKey_nativeRead<'l>(
    mut env: EnvUnowned<'l>,
    _c: JClass<'l>,
    path: jni::objects::JString<'l>,
) -> jlong {
    entry(&mut env, |env| {
        let path: String = path.try_to_string(env)?;
        // A file larger than any server key MedVault writes is refused before it is read.
        let size = std::fs::metadata(&path).map_err(|e| Error::invalid(format!("cannot read {path}: {e}")))?.len();
        if size > LIMIT_COMPRESSED_SERVER_KEY {
            return Err(Error::invalid(format!(
                "{path} is {size} bytes: larger than any server key MedVault writes (at most {LIMIT_COMPRESSED_SERVER_KEY}); refused before reading"
            )));
        }
        let data = std::fs::read(&path).map_err(|e| Error::invalid(format!("cannot read {path}: {e}")))?;
        let (key, features) = catch(|| load::<CompressedServerKey>(&data, LIMIT_COMPRESSED_SERVER_KEY, "compressed server key", features_of_compressed))?;
        drop(data);
        Ok(handle::into_handle(CompressedServerKeyBox { key, features }))
    })
}

#[unsafe(no_mangle)]
pub extern "system" fn Java_org_medvault_fhe_CompressedServerKey_nativeDecompress<'l>(
    mut env: EnvUnowned<'l>,
    _c: JClass<'l>,
    h: jlong,
) -> jlong {
    entry(&mut env, |_| {
        let k = unsafe { get_compressed(h) }?;
        let key = runtime::run(|| Ok(k.key.decompress()))?;
        Ok(handle::into_handle(ServerKeyBox { key, features: k.features }))
    })
}

// ---- ServerKey.java: lifecycle ----

crate::native_destroy!(Java_org_medvault_fhe_ServerKey_nativeDestroy, ServerKeyBox);

crate::native_key_id!(Java_org_medvault_fhe_ServerKey_nativeKeyId, |h| get(h)?.key.tag());

#[unsafe(no_mangle)]
pub extern "system" fn Java_org_medvault_fhe_ServerKey_nativeFeatures<'l>(mut env: EnvUnowned<'l>, _c: JClass<'l>, h: jlong) -> jint {
    entry(&mut env, |_| Ok(feature_bits(unsafe { get(h) }?.features)))
}

#[unsafe(no_mangle)]
pub extern "system" fn Java_org_medvault_fhe_ServerKey_nativeSerialize<'l>(
    mut env: EnvUnowned<'l>,
    _c: JClass<'l>,
    h: jlong,
) -> JByteArray<'l> {
    entry(&mut env, |env| {
        let k = unsafe { get(h) }?;
        let bytes = catch(|| params::serialize(&k.key, LIMIT_SERVER_KEY, "server key"))?;
        Ok(env.byte_array_from_slice(&bytes)?)
    })
}

#[unsafe(no_mangle)]
pub extern "system" fn Java_org_medvault_fhe_ServerKey_nativeDeserialize<'l>(
    mut env: EnvUnowned<'l>,
    _c: JClass<'l>,
    bytes: JByteArray<'l>,
) -> jlong {
    entry(&mut env, |env| {
        let data = env.convert_byte_array(&bytes)?;
        let (key, features) = catch(|| load::<ServerKey>(&data, LIMIT_SERVER_KEY, "server key", features_of_server_key))?;
        Ok(handle::into_handle(ServerKeyBox { key, features }))
    })
}

// ---- ServerKey.java: homomorphic operations ----

/// Every operand must be under the server key's key id.
fn check(sk: &ServerKey, cts: &[&Ct]) -> Result<()> {
    for ct in cts {
        params::check_same_key(ct.kind().name(), ct.tag(), "server key", sk.tag())?;
    }
    Ok(())
}

fn same_kind(a: &Ct, b: &Ct) -> Result<()> {
    if a.kind() != b.kind() {
        return Err(Error::invalid(format!(
            "operands have different types: {} and {}",
            a.kind().name(),
            b.kind().name()
        )));
    }
    Ok(())
}

// Operation codes shared with ServerKey.java.
const ADD: jint = 0;
const SUB: jint = 1;
const MUL: jint = 2;
const MIN: jint = 3;
const MAX: jint = 4;
const AND: jint = 5;
const OR: jint = 6;
const XOR: jint = 7;

const EQ: jint = 0;
const NE: jint = 1;
const LT: jint = 2;
const LE: jint = 3;
const GT: jint = 4;
const GE: jint = 5;

fn op_name(op: jint) -> &'static str {
    match op {
        ADD => "add",
        SUB => "sub",
        MUL => "mul",
        MIN => "min",
        MAX => "max",
        AND => "and",
        OR => "or",
        XOR => "xor",
        _ => "unknown",
    }
}

macro_rules! uint_binary {
    ($op:expr, $a:expr, $b:expr) => {
        match $op {
            ADD => $a + $b,
            SUB => $a - $b,
            MUL => $a * $b,
            MIN => $a.min($b),
            MAX => $a.max($b),
            AND => $a & $b,
            OR => $a | $b,
            XOR => $a ^ $b,
            other => return Err(Error::invalid(format!("unknown operation code {other}"))),
        }
    };
}

pub fn binary(op: jint, a: &Ct, b: &Ct) -> Result<Ct> {
    same_kind(a, b)?;
    Ok(match (a, b) {
        (Ct::Bool(a), Ct::Bool(b)) => Ct::Bool(match op {
            AND => a & b,
            OR => a | b,
            XOR => a ^ b,
            other => {
                return Err(Error::unsupported(format!("{} is not defined on FheBool", op_name(other))));
            }
        }),
        (Ct::U8(a), Ct::U8(b)) => Ct::U8(uint_binary!(op, a, b)),
        (Ct::U16(a), Ct::U16(b)) => Ct::U16(uint_binary!(op, a, b)),
        (Ct::U32(a), Ct::U32(b)) => Ct::U32(uint_binary!(op, a, b)),
        (Ct::U64(a), Ct::U64(b)) => Ct::U64(uint_binary!(op, a, b)),
        _ => unreachable!("kinds checked above"),
    })
}

macro_rules! uint_scalar {
    ($op:expr, $a:expr, $s:expr) => {
        match $op {
            ADD => $a + $s,
            SUB => $a - $s,
            MUL => $a * $s,
            MIN => $a.min($s),
            MAX => $a.max($s),
            AND => $a & $s,
            OR => $a | $s,
            XOR => $a ^ $s,
            other => return Err(Error::invalid(format!("unknown operation code {other}"))),
        }
    };
}

pub fn scalar(op: jint, a: &Ct, s: u64) -> Result<Ct> {
    let s = a.kind().check_value(s)?;
    Ok(match a {
        Ct::Bool(a) => {
            let s = s == 1;
            Ct::Bool(match op {
                AND => a & s,
                OR => a | s,
                XOR => a ^ s,
                other => {
                    return Err(Error::unsupported(format!("{} is not defined on FheBool", op_name(other))));
                }
            })
        }
        Ct::U8(a) => Ct::U8(uint_scalar!(op, a, s as u8)),
        Ct::U16(a) => Ct::U16(uint_scalar!(op, a, s as u16)),
        Ct::U32(a) => Ct::U32(uint_scalar!(op, a, s as u32)),
        Ct::U64(a) => Ct::U64(uint_scalar!(op, a, s)),
    })
}

macro_rules! compare_op {
    ($op:expr, $a:expr, $b:expr) => {
        match $op {
            EQ => $a.eq($b),
            NE => $a.ne($b),
            LT => $a.lt($b),
            LE => $a.le($b),
            GT => $a.gt($b),
            GE => $a.ge($b),
            other => return Err(Error::invalid(format!("unknown comparison code {other}"))),
        }
    };
}

pub fn compare(op: jint, a: &Ct, b: &Ct) -> Result<Ct> {
    same_kind(a, b)?;
    Ok(Ct::Bool(match (a, b) {
        (Ct::Bool(a), Ct::Bool(b)) => match op {
            EQ => a.eq(b),
            NE => a.ne(b),
            _ => return Err(Error::unsupported("only = and != compare FheBool values")),
        },
        (Ct::U8(a), Ct::U8(b)) => compare_op!(op, a, b),
        (Ct::U16(a), Ct::U16(b)) => compare_op!(op, a, b),
        (Ct::U32(a), Ct::U32(b)) => compare_op!(op, a, b),
        (Ct::U64(a), Ct::U64(b)) => compare_op!(op, a, b),
        _ => unreachable!("kinds checked above"),
    }))
}

pub fn compare_scalar(op: jint, a: &Ct, s: u64) -> Result<Ct> {
    let s = a.kind().check_value(s)?;
    Ok(Ct::Bool(match a {
        Ct::Bool(a) => match op {
            EQ => a.eq(s == 1),
            NE => a.ne(s == 1),
            _ => return Err(Error::unsupported("only = and != compare FheBool values")),
        },
        Ct::U8(a) => compare_op!(op, a, s as u8),
        Ct::U16(a) => compare_op!(op, a, s as u16),
        Ct::U32(a) => compare_op!(op, a, s as u32),
        Ct::U64(a) => compare_op!(op, a, s),
    }))
}

pub fn not(a: &Ct) -> Result<Ct> {
    Ok(match a {
        Ct::Bool(a) => Ct::Bool(!a),
        Ct::U8(a) => Ct::U8(!a),
        Ct::U16(a) => Ct::U16(!a),
        Ct::U32(a) => Ct::U32(!a),
        Ct::U64(a) => Ct::U64(!a),
    })
}

pub fn select(cond: &Ct, a: &Ct, b: &Ct) -> Result<Ct> {
    let Ct::Bool(c) = cond else {
        return Err(Error::invalid(format!("select condition must be FheBool, got {}", cond.kind().name())));
    };
    same_kind(a, b)?;
    Ok(match (a, b) {
        (Ct::Bool(a), Ct::Bool(b)) => Ct::Bool(c.select(a, b)),
        (Ct::U8(a), Ct::U8(b)) => Ct::U8(c.select(a, b)),
        (Ct::U16(a), Ct::U16(b)) => Ct::U16(c.select(a, b)),
        (Ct::U32(a), Ct::U32(b)) => Ct::U32(c.select(a, b)),
        (Ct::U64(a), Ct::U64(b)) => Ct::U64(c.select(a, b)),
        _ => unreachable!("kinds checked above"),
    })
}

macro_rules! cast_to {
    ($target:ty, $ct:expr) => {
        match $ct {
            Ct::Bool(x) => <$target>::cast_from(x.clone()),
            Ct::U8(x) => <$target>::cast_from(x.clone()),
            Ct::U16(x) => <$target>::cast_from(x.clone()),
            Ct::U32(x) => <$target>::cast_from(x.clone()),
            Ct::U64(x) => <$target>::cast_from(x.clone()),
        }
    };
}

/// Casts between widths (truncating when narrowing, zero-extending when widening) and from FheBool.
pub fn cast(a: &Ct, to: Kind) -> Result<Ct> {
    Ok(match to {
        Kind::Bool => match a {
            Ct::Bool(b) => Ct::Bool(b.clone()),
            Ct::U8(x) => Ct::Bool(x.ne(0u8)),
            Ct::U16(x) => Ct::Bool(x.ne(0u16)),
            Ct::U32(x) => Ct::Bool(x.ne(0u32)),
            Ct::U64(x) => Ct::Bool(x.ne(0u64)),
        },
        Kind::U8 => Ct::U8(cast_to!(tfhe::FheUint8, a)),
        Kind::U16 => Ct::U16(cast_to!(tfhe::FheUint16, a)),
        Kind::U32 => Ct::U32(cast_to!(tfhe::FheUint32, a)),
        Kind::U64 => Ct::U64(cast_to!(tfhe::FheUint64, a)),
    })
}

macro_rules! sum_of {
    ($variant:ident, $ty:ty, $cts:expr) => {{
        let mut refs: Vec<&$ty> = Vec::with_capacity($cts.len());
        for c in $cts {
            match c {
                Ct::$variant(x) => refs.push(x),
                other => {
                    return Err(Error::invalid(format!(
                        "sum needs ciphertexts of one type, found {} among {}",
                        other.kind().name(),
                        stringify!($ty)
                    )))
                }
            }
        }
        Ct::$variant(<$ty>::sum(&refs))
    }};
}

/// Sum of many ciphertexts of one width (wrapping), with tfhe-rs's deferred-carry sum.
pub fn sum(cts: &[&Ct]) -> Result<Ct> {
    let Some(first) = cts.first() else {
        return Err(Error::invalid("sum of an empty list: give at least one ciphertext"));
    };
    Ok(match first.kind() {
        Kind::Bool => return Err(Error::unsupported("sum is not defined on FheBool; cast to an integer first")),
        Kind::U8 => sum_of!(U8, tfhe::FheUint8, cts),
        Kind::U16 => sum_of!(U16, tfhe::FheUint16, cts),
        Kind::U32 => sum_of!(U32, tfhe::FheUint32, cts),
        Kind::U64 => sum_of!(U64, tfhe::FheUint64, cts),
    })
}

pub fn trivial(kind: Kind, value: u64) -> Result<Ct> {
    let v = kind.check_value(value)?;
    Ok(match kind {
        Kind::Bool => Ct::Bool(tfhe::FheBool::encrypt_trivial(v == 1)),
        Kind::U8 => Ct::U8(tfhe::FheUint8::encrypt_trivial(v as u8)),
        Kind::U16 => Ct::U16(tfhe::FheUint16::encrypt_trivial(v as u16)),
        Kind::U32 => Ct::U32(tfhe::FheUint32::encrypt_trivial(v as u32)),
        Kind::U64 => Ct::U64(tfhe::FheUint64::encrypt_trivial(v)),
    })
}

/// Runs a ciphertext-producing operation with the server key as context; returns a new handle.
fn apply(sk_h: jlong, operands: &[jlong], f: impl FnOnce(&[&Ct]) -> Result<Ct> + Send) -> Result<jlong> {
    let sk = unsafe { get(sk_h) }?;
    let mut cts = Vec::with_capacity(operands.len());
    for &h in operands {
        cts.push(unsafe { ciphertext::get(h) }?);
    }
    check(&sk.key, &cts)?;
    let out = runtime::compute(&sk.key, || f(&cts))?;
    Ok(handle::into_handle(out))
}

#[unsafe(no_mangle)]
pub extern "system" fn Java_org_medvault_fhe_ServerKey_nativeBinary<'l>(
    mut env: EnvUnowned<'l>,
    _c: JClass<'l>,
    sk: jlong,
    op: jint,
    a: jlong,
    b: jlong,
) -> jlong {
    entry(&mut env, |_| apply(sk, &[a, b], |c| binary(op, c[0], c[1])))
}

#[unsafe(no_mangle)]
pub extern "system" fn Java_org_medvault_fhe_ServerKey_nativeScalar<'l>(
    mut env: EnvUnowned<'l>,
    _c: JClass<'l>,
    sk: jlong,
    op: jint,
    a: jlong,
    s: jlong,
) -> jlong {
    entry(&mut env, |_| apply(sk, &[a], |c| scalar(op, c[0], s as u64)))
}

#[unsafe(no_mangle)]
pub extern "system" fn Java_org_medvault_fhe_ServerKey_nativeCompare<'l>(
    mut env: EnvUnowned<'l>,
    _c: JClass<'l>,
    sk: jlong,
    op: jint,
    a: jlong,
    b: jlong,
) -> jlong {
    entry(&mut env, |_| apply(sk, &[a, b], |c| compare(op, c[0], c[1])))
}

#[unsafe(no_mangle)]
pub extern "system" fn Java_org_medvault_fhe_ServerKey_nativeCompareScalar<'l>(
    mut env: EnvUnowned<'l>,
    _c: JClass<'l>,
    sk: jlong,
    op: jint,
    a: jlong,
    s: jlong,
) -> jlong {
    entry(&mut env, |_| apply(sk, &[a], |c| compare_scalar(op, c[0], s as u64)))
}

#[unsafe(no_mangle)]
pub extern "system" fn Java_org_medvault_fhe_ServerKey_nativeNot<'l>(mut env: EnvUnowned<'l>, _c: JClass<'l>, sk: jlong, a: jlong) -> jlong {
    entry(&mut env, |_| apply(sk, &[a], |c| not(c[0])))
}

#[unsafe(no_mangle)]
pub extern "system" fn Java_org_medvault_fhe_ServerKey_nativeSelect<'l>(
    mut env: EnvUnowned<'l>,
    _c: JClass<'l>,
    sk: jlong,
    cond: jlong,
    a: jlong,
    b: jlong,
) -> jlong {
    entry(&mut env, |_| apply(sk, &[cond, a, b], |c| select(c[0], c[1], c[2])))
}

#[unsafe(no_mangle)]
pub extern "system" fn Java_org_medvault_fhe_ServerKey_nativeCast<'l>(
    mut env: EnvUnowned<'l>,
    _c: JClass<'l>,
    sk: jlong,
    a: jlong,
    kind: jint,
) -> jlong {
    entry(&mut env, |_| {
        let to = Kind::from_code(kind)?;
        apply(sk, &[a], |c| cast(c[0], to))
    })
}

#[unsafe(no_mangle)]
pub extern "system" fn Java_org_medvault_fhe_ServerKey_nativeSum<'l>(
    mut env: EnvUnowned<'l>,
    _c: JClass<'l>,
    sk: jlong,
    handles: JLongArray<'l>,
) -> jlong {
    entry(&mut env, |env| {
        let n = handles.len(env)?;
        let mut hs = vec![0 as jlong; n];
        handles.get_region(env, 0, &mut hs)?;
        apply(sk, &hs, sum)
    })
}

#[unsafe(no_mangle)]
pub extern "system" fn Java_org_medvault_fhe_ServerKey_nativeTrivial<'l>(
    mut env: EnvUnowned<'l>,
    _c: JClass<'l>,
    sk: jlong,
    kind: jint,
    value: jlong,
) -> jlong {
    entry(&mut env, |_| {
        let kind = Kind::from_code(kind)?;
        apply(sk, &[], |_| trivial(kind, value as u64))
    })
}
