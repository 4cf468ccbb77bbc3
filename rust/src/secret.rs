//! Wiping secret keys. tfhe-rs keys are not `Zeroize`: dropping one frees its secret coefficients
//! unchanged. Every `tfhe::ClientKey` MedVault owns ends here instead, taken apart into its
//! secret-key containers, each overwritten with zeros before it is freed.
//!
//! What cannot be reached: tfhe-rs's integer `NoiseSquashingCompressionPrivateKey` has no public
//! way to its coefficients (MedVault's keys never carry one: it is `None`, checked in the tests);
//! temporary buffers inside tfhe-rs's own key generation and encryption are out of our hands.

use tfhe::integer::oprf::OprfPrivateKey;
use tfhe::shortint::client_key::atomic_pattern::AtomicPatternClientKey;
use tfhe::shortint::oprf::AtomicPatternOprfPrivateKey;
use zeroize::Zeroize;

/// The parts `tfhe::ClientKey::into_raw_parts` returns, in its order.
pub type Parts = (
    tfhe::integer::ClientKey,
    Option<(tfhe::integer::CompactPrivateKey<Vec<u64>>, tfhe::shortint::parameters::key_switching::ShortintKeySwitchingParameters)>,
    Option<tfhe::integer::compression_keys::CompressionPrivateKeys>,
    Option<tfhe::integer::noise_squashing::NoiseSquashingPrivateKey>,
    Option<tfhe::integer::ciphertext::NoiseSquashingCompressionPrivateKey>,
    Option<tfhe::shortint::parameters::ReRandomizationParameters>,
    Option<OprfPrivateKey>,
    Option<tfhe::transciphering::TranscipheringPrivateKey>,
    tfhe::Tag,
);

/// A client key taken apart (no copy).
pub fn parts(key: tfhe::ClientKey) -> Parts {
    key.into_raw_parts()
}

/// The client key put back together from `parts` (no copy).
pub fn assemble(p: Parts) -> tfhe::ClientKey {
    tfhe::ClientKey::from_raw_parts(p.0, p.1, p.2, p.3, p.4, p.5, p.6, p.7, p.8)
}

/// Overwrites every secret coefficient of `key` with zeros, then frees it.
pub fn wipe(key: tfhe::ClientKey) {
    wipe_parts(parts(key));
}

/// `wipe` for a key already taken apart.
pub fn wipe_parts(p: Parts) {
    let (integer, dedicated, compression, squashing, _squashing_compression, _, oprf, transciphering, _) = p;
    match integer.into_raw_parts().atomic_pattern {
        AtomicPatternClientKey::Standard(ap) => {
            let (glwe, lwe, ..) = ap.into_raw_parts();
            glwe.into_container().zeroize();
            lwe.into_container().zeroize();
        }
        AtomicPatternClientKey::KeySwitch32(ap) => {
            let (glwe, lwe, ..) = ap.into_raw_parts();
            glwe.into_container().zeroize();
            lwe.into_container().zeroize();
        }
    }
    if let Some((key, _)) = dedicated {
        key.into_raw_parts().into_raw_parts().0.into_container().zeroize();
    }
    if let Some(key) = compression {
        key.into_raw_parts().post_packing_ks_key.into_container().zeroize();
    }
    if let Some(key) = squashing {
        key.into_raw_parts().into_raw_parts().0.into_container().zeroize();
    }
    if let Some(key) = oprf {
        wipe_oprf(key);
    }
    if let Some(key) = transciphering {
        wipe_shortint_oprf(key.into_raw_parts().0);
    }
}

fn wipe_oprf(key: OprfPrivateKey) {
    wipe_shortint_oprf(key.into_raw_parts());
}

fn wipe_shortint_oprf(key: tfhe::shortint::oprf::OprfPrivateKey) {
    match key.into_raw_parts() {
        AtomicPatternOprfPrivateKey::Standard(k) => k.into_container().zeroize(),
        AtomicPatternOprfPrivateKey::KeySwitch32(k) => k.into_container().zeroize(),
    }
}
