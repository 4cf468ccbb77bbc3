//! The threshold math on tfhe-rs's real squashed ciphertexts: keys with noise squashing, a real
//! homomorphic computation, squash, deal the real 128-bit key, t partials, combine.

use medvault_native::params::Features;
use medvault_native::release::{self as threshold, Block};
use tfhe::prelude::*;
use tfhe::{ClientKey, FheUint16, FheUint8};

#[test]
fn squashed_results_decrypt_through_t_of_n_partials() {
    let ck = ClientKey::generate(Features { compression: false, noise_squashing: true }.config());
    tfhe::set_server_key(ck.generate_server_key());
    let mut secret = threshold::squashing_secret(&ck).unwrap();
    assert_eq!(secret.len(), 4096, "2 × 2048 coefficients");
    assert!(secret.iter().all(|&c| c <= 1), "binary key");

    // Test randomness (xorshift); the production dealer will draw from the OS CSPRNG.
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut random = |b: &mut [u8]| {
        for x in b.iter_mut() {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            *x = state as u8;
        }
    };
    let shares = threshold::deal(&secret, 5, 3, &mut random).unwrap();
    secret.iter_mut().for_each(|c| *c = 0);

    let a = FheUint16::encrypt(51_234u16, &ck);
    let b = FheUint16::encrypt(777u16, &ck);
    let sum = &a + &b; // a real computation before squashing
    let small = FheUint8::encrypt(201u8, &ck) - 1u8;
    for (ct, expected) in [(sum.squash_noise().unwrap(), 52_011u128), (small.squash_noise().unwrap(), 200)] {
        let plain: u128 = ct.decrypt(&ck);
        assert_eq!(plain, expected, "tfhe's own decryption");
        let blocks = threshold::squashed_blocks(&ct);
        let view: Vec<Block<'_>> = blocks.iter().map(|(m, b)| Block { mask: m, body: *b }).collect();
        let bodies: Vec<u128> = blocks.iter().map(|b| b.1).collect();
        for active in [[1, 2, 3], [3, 4, 5], [1, 3, 5], [2, 4, 5]] {
            let partials: Vec<Vec<u128>> = active
                .iter()
                .map(|&i| threshold::partial(&shares[i - 1], &active, b"key-id|digest", &view).unwrap())
                .collect();
            let messages = threshold::combine(&bodies, &partials).unwrap();
            assert_eq!(threshold::recompose(&messages), expected, "signers {active:?}");
        }
    }
}
