//! Ciphertexts of every MedVault width behind one handle type (`Ciphertext.java` and its
//! subclasses FheBool, FheUint8/16/32/64). The Java kind codes are `FheType.code()`.

use jni::objects::{JByteArray, JClass};
use jni::sys::{jint, jlong};
use jni::EnvUnowned;
use tfhe::prelude::*;
use tfhe::{
    FheBool, FheBoolConformanceParams, FheUint16, FheUint16ConformanceParams, FheUint32, FheUint32ConformanceParams,
    FheUint64, FheUint64ConformanceParams, FheUint8, FheUint8ConformanceParams, Tag,
};
use tfhe::shortint::parameters::PARAM_MESSAGE_2_CARRY_2_KS_PBS_TUNIFORM_2M128 as PARAMS;

use crate::error::{entry, Code, Error, Result};
use tfhe::conformance::ParameterSetConformant;
use crate::handle;
use crate::params::{self, LIMIT_CIPHERTEXT};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Bool = 0,
    U8 = 1,
    U16 = 2,
    U32 = 3,
    U64 = 4,
}

impl Kind {
    pub fn from_code(code: jint) -> Result<Kind> {
        Ok(match code {
            0 => Kind::Bool,
            1 => Kind::U8,
            2 => Kind::U16,
            3 => Kind::U32,
            4 => Kind::U64,
            _ => return Err(Error::invalid(format!("unknown ciphertext type code {code}"))),
        })
    }
    pub fn name(self) -> &'static str {
        match self {
            Kind::Bool => "FheBool",
            Kind::U8 => "FheUint8",
            Kind::U16 => "FheUint16",
            Kind::U32 => "FheUint32",
            Kind::U64 => "FheUint64",
        }
    }
    pub fn bits(self) -> u32 {
        match self {
            Kind::Bool => 1,
            Kind::U8 => 8,
            Kind::U16 => 16,
            Kind::U32 => 32,
            Kind::U64 => 64,
        }
    }
    /// Checks that an unsigned value (Java long, read as u64) fits this width.
    pub fn check_value(self, value: u64) -> Result<u64> {
        let max = if self.bits() == 64 { u64::MAX } else { (1u64 << self.bits()) - 1 };
        if value > max {
            return Err(Error::invalid(format!(
                "value {value} does not fit {} (0..={max})",
                self.name()
            )));
        }
        Ok(value)
    }
}

#[derive(Clone)]
pub enum Ct {
    Bool(FheBool),
    U8(FheUint8),
    U16(FheUint16),
    U32(FheUint32),
    U64(FheUint64),
}

/// Applies `$body` to the inner value of any `Ct` (integers and booleans).
#[macro_export]
macro_rules! with_ct {
    ($ct:expr, $x:ident => $body:expr) => {
        match $ct {
            $crate::ciphertext::Ct::Bool($x) => $body,
            $crate::ciphertext::Ct::U8($x) => $body,
            $crate::ciphertext::Ct::U16($x) => $body,
            $crate::ciphertext::Ct::U32($x) => $body,
            $crate::ciphertext::Ct::U64($x) => $body,
        }
    };
}

impl Ct {
    pub fn kind(&self) -> Kind {
        match self {
            Ct::Bool(_) => Kind::Bool,
            Ct::U8(_) => Kind::U8,
            Ct::U16(_) => Kind::U16,
            Ct::U32(_) => Kind::U32,
            Ct::U64(_) => Kind::U64,
        }
    }

    pub fn tag(&self) -> &Tag {
        with_ct!(self, x => x.tag())
    }

    pub fn serialize(&self) -> Result<Vec<u8>> {
        let what = self.kind().name();
        with_ct!(self, x => params::serialize(x, LIMIT_CIPHERTEXT, what))
    }

    /// Loads a ciphertext of the given kind, checked against MedVault's parameters: a fresh
    /// encryption must match them exactly; a computed one (whose blocks may carry a smaller
    /// degree, or be trivial) must match in every dimension and stay within the noise and carry
    /// bounds of the parameters.
    pub fn deserialize(kind: Kind, bytes: &[u8]) -> Result<Ct> {
        let what = kind.name();
        macro_rules! load {
            ($variant:ident, $ty:ty, $conf:expr) => {{
                match params::deserialize_conformant::<$ty>(bytes, LIMIT_CIPHERTEXT, &$conf, what) {
                    Ok(v) => Ct::$variant(v),
                    Err(e) if e.code == Code::KeyMismatch => {
                        let v: $ty = params::deserialize(bytes, LIMIT_CIPHERTEXT, what)?;
                        let ct = Ct::$variant(v);
                        if !ct.computed_conformant() {
                            return Err(e);
                        }
                        ct
                    }
                    Err(e) => return Err(e),
                }
            }};
        }
        Ok(match kind {
            Kind::Bool => load!(Bool, FheBool, FheBoolConformanceParams::from(PARAMS)),
            Kind::U8 => load!(U8, FheUint8, FheUint8ConformanceParams::from(PARAMS)),
            Kind::U16 => load!(U16, FheUint16, FheUint16ConformanceParams::from(PARAMS)),
            Kind::U32 => load!(U32, FheUint32, FheUint32ConformanceParams::from(PARAMS)),
            Kind::U64 => load!(U64, FheUint64, FheUint64ConformanceParams::from(PARAMS)),
        })
    }

    /// The relaxed check for computed ciphertexts (see `deserialize`).
    fn computed_conformant(&self) -> bool {
        let p = PARAMS.to_shortint_conformance_param();
        let max_degree = PARAMS.message_modulus.0 * PARAMS.carry_modulus.0 - 1;
        let max_noise = PARAMS.max_noise_level.get();
        let block_ok = |b: &tfhe::shortint::Ciphertext| {
            b.ct.is_conformant(&p.ct_params)
                && b.message_modulus == p.message_modulus
                && b.carry_modulus == p.carry_modulus
                && b.atomic_pattern == p.atomic_pattern
                && b.degree.get() <= max_degree
                && b.noise_level().get() <= max_noise
        };
        let expected_blocks = (self.kind().bits() / 2) as usize;
        macro_rules! blocks_ok {
            ($x:expr) => {{
                let (radix, ..) = $x.clone().into_raw_parts();
                use tfhe::integer::IntegerCiphertext;
                let blocks = radix.blocks();
                blocks.len() == expected_blocks && blocks.iter().all(block_ok)
            }};
        }
        match self {
            Ct::Bool(b) => block_ok(&b.clone().into_raw_parts()),
            Ct::U8(x) => blocks_ok!(x),
            Ct::U16(x) => blocks_ok!(x),
            Ct::U32(x) => blocks_ok!(x),
            Ct::U64(x) => blocks_ok!(x),
        }
    }
}

/// # Safety
/// `h` must be a live ciphertext handle.
pub unsafe fn get<'a>(h: jlong) -> Result<&'a Ct> {
    unsafe { handle::borrow::<Ct>(h, "ciphertext") }
}

crate::native_destroy!(Java_org_medvault_fhe_Ciphertext_nativeDestroy, Ct);

#[unsafe(no_mangle)]
pub extern "system" fn Java_org_medvault_fhe_Ciphertext_nativeKind<'l>(mut env: EnvUnowned<'l>, _c: JClass<'l>, h: jlong) -> jint {
    entry(&mut env, |_| Ok(unsafe { get(h) }?.kind() as jint))
}

crate::native_key_id!(Java_org_medvault_fhe_Ciphertext_nativeKeyId, |h| get(h)?.tag());

#[unsafe(no_mangle)]
pub extern "system" fn Java_org_medvault_fhe_Ciphertext_nativeSerialize<'l>(
    mut env: EnvUnowned<'l>,
    _c: JClass<'l>,
    h: jlong,
) -> JByteArray<'l> {
    entry(&mut env, |env| {
        let ct = unsafe { get(h) }?;
        let bytes = crate::error::catch(|| ct.serialize())?;
        Ok(env.byte_array_from_slice(&bytes)?)
    })
}

#[unsafe(no_mangle)]
pub extern "system" fn Java_org_medvault_fhe_Ciphertext_nativeDeserialize<'l>(
    mut env: EnvUnowned<'l>,
    _c: JClass<'l>,
    kind: jint,
    bytes: JByteArray<'l>,
) -> jlong {
    entry(&mut env, |env| {
        let kind = Kind::from_code(kind)?;
        let data = env.convert_byte_array(&bytes)?;
        let ct = crate::error::catch(|| Ct::deserialize(kind, &data))?;
        Ok(handle::into_handle(ct))
    })
}
