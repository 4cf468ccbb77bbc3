//! Key files: a client key as `keys` commands load it (parameters, key id and submission key
//! checked), a public key with its conformance check.
#![no_main]
use libfuzzer_sys::fuzz_target;
use medvault_native::{client_key, public_key};

fuzz_target!(|data: &[u8]| {
    let Some((&pick, rest)) = data.split_first() else { return };
    if pick % 2 == 0 {
        let _ = client_key::load(rest);
    } else {
        let _ = public_key::load(rest);
    }
});
