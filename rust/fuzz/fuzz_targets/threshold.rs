//! MedVault's own binary formats of the threshold release: shares, partial decryptions, squashed
//! results (the first byte picks the parser and the output width).
#![no_main]
use libfuzzer_sys::fuzz_target;
use medvault_native::release;

fuzz_target!(|data: &[u8]| {
    let Some((&pick, rest)) = data.split_first() else { return };
    match pick % 3 {
        0 => {
            let _ = release::share_info(rest);
        }
        1 => {
            let _ = release::parse_partial(rest);
        }
        _ => {
            let bits = [8u32, 16, 32, 64, 128, 0, 7][(pick as usize / 3) % 7];
            let _ = release::load_squashed(rest, &[7u8; 32], bits);
        }
    }
});
