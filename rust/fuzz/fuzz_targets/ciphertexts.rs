//! Ciphertexts as records, chunks and imports bring them: single values of each kind, compact
//! lists (the vault's chunks and the batch files) and sanitized proven records.
#![no_main]
use libfuzzer_sys::fuzz_target;
use medvault_native::ciphertext::{Ct, Kind};
use medvault_native::{compact_list, submission};

fuzz_target!(|data: &[u8]| {
    let Some((&pick, rest)) = data.split_first() else { return };
    match pick % 7 {
        k @ 0..=4 => {
            if let Ok(kind) = Kind::from_code(k as i32) {
                let _ = Ct::deserialize(kind, rest);
            }
        }
        5 => {
            if let Ok(list) = compact_list::deserialize(rest) {
                let _ = compact_list::kinds(&list);
            }
        }
        _ => {
            let _ = submission::sanitized_from_bytes(rest);
        }
    }
});
