//! The threshold scheme's math, on synthetic LWE ciphertexts with the real dimensions (a 4096-
//! coefficient binary key, 128-bit modulus, Δ = 2^123, ciphertext noise up to 2^70).

use medvault_native::release::{self as threshold, Block, Share};

/// A small deterministic generator (xorshift) for tests; production dealing uses the OS CSPRNG.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn fill(&mut self, buf: &mut [u8]) {
        for b in buf.iter_mut() {
            *b = self.next() as u8;
        }
    }
    fn u128(&mut self) -> u128 {
        ((self.next() as u128) << 64) | self.next() as u128
    }
}

const N: usize = 4096;

fn encrypt(rng: &mut Rng, s: &[u128], m: u8) -> (Vec<u128>, u128) {
    let a: Vec<u128> = (0..N).map(|_| rng.u128()).collect();
    let dot = a.iter().zip(s).fold(0u128, |acc, (x, y)| acc.wrapping_add(x.wrapping_mul(*y)));
    let e = (rng.u128() & ((1u128 << 71) - 1)).wrapping_sub(1u128 << 70);
    (a, dot.wrapping_add((m as u128) << threshold::DELTA_LOG).wrapping_add(e))
}

fn secret(rng: &mut Rng) -> Vec<u128> {
    (0..N).map(|_| (rng.next() & 1) as u128).collect()
}

fn deal(rng: &mut Rng, s: &[u128], n: usize, t: usize) -> Vec<Share> {
    threshold::deal(s, n, t, &mut |b| rng.fill(b)).unwrap()
}

fn subsets_of(n: usize, k: usize) -> Vec<Vec<usize>> {
    threshold::subsets(n, k)
        .into_iter()
        .map(|m| (1..=n).filter(|i| m & (1 << (i - 1)) != 0).collect())
        .collect()
}

#[test]
fn every_t_subset_in_any_order_decrypts() {
    let mut rng = Rng(0x5eed_1234_abcd);
    let s = secret(&mut rng);
    let messages: Vec<u8> = vec![0, 1, 7, 15];
    let cts: Vec<(Vec<u128>, u128)> = messages.iter().map(|&m| encrypt(&mut rng, &s, m)).collect();
    let blocks: Vec<Block<'_>> = cts.iter().map(|(a, b)| Block { mask: a, body: *b }).collect();
    let bodies: Vec<u128> = cts.iter().map(|c| c.1).collect();
    for n in 2..=6 {
        for t in 2..=n {
            let shares = deal(&mut rng, &s, n, t);
            for active in subsets_of(n, t) {
                let mut partials: Vec<Vec<u128>> = active
                    .iter()
                    .map(|&i| threshold::partial(&shares[i - 1], &active, b"ctx", &blocks).unwrap())
                    .collect();
                assert_eq!(threshold::combine(&bodies, &partials).unwrap(), messages, "{t} of {n}, set {active:?}");
                partials.reverse(); // order of arrival does not matter
                let mut reversed = active.clone();
                reversed.reverse();
                assert_eq!(threshold::combine(&bodies, &partials).unwrap(), messages);
                // The active set may be listed in any order by each custodian: same partials.
                let again = threshold::partial(&shares[reversed[0] - 1], &reversed, b"ctx", &blocks).unwrap();
                assert_eq!(again, partials[0]);
            }
        }
    }
}

#[test]
fn fewer_than_t_custodians_cannot_decrypt() {
    let mut rng = Rng(77);
    let s = secret(&mut rng);
    let (a, b) = encrypt(&mut rng, &s, 9);
    let blocks = [Block { mask: &a, body: b }];
    let shares = deal(&mut rng, &s, 5, 3);
    // Two custodians cannot even form a signer set for t = 3.
    assert!(threshold::partial(&shares[0], &[1, 2], b"ctx", &blocks).is_err());
    // And with the partials of only t−1 members of a valid set, the result is noise.
    let active = [1, 2, 3];
    let partials: Vec<Vec<u128>> = active[..2].iter().map(|&i| threshold::partial(&shares[i - 1], &active, b"ctx", &blocks).unwrap()).collect();
    let wrong = (0..20)
        .map(|k| {
            let (a, b) = encrypt(&mut rng, &s, (k % 16) as u8);
            let blocks = [Block { mask: &a, body: b }];
            let p: Vec<Vec<u128>> = active[..2].iter().map(|&i| threshold::partial(&shares[i - 1], &active, b"ctx", &blocks).unwrap()).collect();
            threshold::combine(&[b], &p).unwrap()[0] != (k % 16) as u8
        })
        .filter(|&w| w)
        .count();
    assert!(wrong >= 15, "t−1 partials decode to noise ({wrong}/20 wrong)");
    drop(partials);
}

#[test]
fn structurally_every_t_minus_1_set_misses_a_piece() {
    let mut rng = Rng(3);
    let s = secret(&mut rng)[..8].to_vec();
    for n in 2..=10 {
        for t in 2..=n {
            let shares = deal(&mut rng, &s, n, t);
            for small in subsets_of(n, t - 1) {
                let mask: u16 = small.iter().map(|i| 1u16 << (i - 1)).sum();
                let seen = small.iter().flat_map(|&i| shares[i - 1].pieces.iter().map(|p| p.excluded));
                assert!(seen.into_iter().all(|e| e != mask), "{small:?} of {n} (t = {t}) must not see piece {mask:b}");
            }
        }
    }
}

#[test]
fn toy_ring_view_of_t_minus_1_is_independent_of_the_secret() {
    // Z_4 (the image of Z_2^128 mod 4), key length 1, n = 4, t = 3: C(4,2) = 6 pieces, 5 random.
    // Enumerate all 4^5 dealer choices for secrets 0 and 1; every 2-custodian view must have the
    // same distribution.
    let (n, t) = (4, 3);
    let random_pieces = threshold::subsets(n, t - 1).len() - 1;
    for small in subsets_of(n, t - 1) {
        let mut histograms = Vec::new();
        for secret in [0u128, 1] {
            let mut counts = std::collections::BTreeMap::<Vec<(u16, u128)>, u32>::new();
            for choice in 0..4u32.pow(random_pieces as u32) {
                let mut used = 0;
                let mut digit = choice;
                let shares = threshold::deal(&[secret], n, t, &mut |buf: &mut [u8]| {
                    buf.fill(0);
                    if buf.len() == 16 {
                        // a piece value: its residue mod 4 is the next base-4 digit of `choice`
                        buf[0] = (digit % 4) as u8;
                        digit /= 4;
                        used += 1;
                    }
                })
                .unwrap();
                assert_eq!(used, random_pieces, "one random value per piece but the last");
                let mut view: Vec<(u16, u128)> = small
                    .iter()
                    .flat_map(|&i| shares[i - 1].pieces.iter().map(|p| (p.excluded, p.values[0] % 4)))
                    .collect();
                view.sort();
                view.dedup();
                *counts.entry(view).or_default() += 1;
            }
            histograms.push(counts);
        }
        assert_eq!(histograms[0], histograms[1], "view of {small:?} depends on the secret");
    }
}

#[test]
fn flooding_is_present_sized_and_deterministic() {
    let mut rng = Rng(99);
    let s = secret(&mut rng);
    let (n, t) = (6, 4);
    let shares = deal(&mut rng, &s, n, t);
    let active = [2, 3, 5, 6];
    let pieces = threshold::subsets(n, t - 1).len() as f64;
    let mut total = Vec::new();
    for k in 0..60u8 {
        let m = k % 16;
        let (a, b) = encrypt(&mut rng, &s, m);
        let blocks = [Block { mask: &a, body: b }];
        let partials: Vec<Vec<u128>> = active.iter().map(|&i| threshold::partial(&shares[i - 1], &active, &[k], &blocks).unwrap()).collect();
        assert_eq!(threshold::combine(&[b], &partials).unwrap()[0], m);
        // noise = v − Δm: ciphertext noise (≤ 2^70) plus the flooding
        let v = partials.iter().fold(b, |v, p| v.wrapping_sub(p[0]));
        let noise = v.wrapping_sub((m as u128) << threshold::DELTA_LOG) as i128;
        assert!(noise.unsigned_abs() < 1u128 << 121, "within the decoding bound");
        total.push(noise as f64);
        // The same request yields byte-identical partials; another key id does not.
        let again = threshold::partial(&shares[active[0] - 1], &active, &[k], &blocks).unwrap();
        assert_eq!(again, partials[0]);
        let other = threshold::partial(&shares[active[0] - 1], &active, &[k, 1], &blocks).unwrap();
        assert_ne!(other, partials[0]);
    }
    // Each piece adds u1 + u2, uniforms on [−2^110, 2^110): variance 2·(2^111)²/12 per piece.
    let expected_sd = (pieces * 2.0 * (2f64.powi(111)).powi(2) / 12.0).sqrt();
    let mean = total.iter().sum::<f64>() / total.len() as f64;
    let sd = (total.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (total.len() - 1) as f64).sqrt();
    assert!(sd > 0.6 * expected_sd && sd < 1.5 * expected_sd, "spread {sd:e} vs expected {expected_sd:e}");
}

#[test]
fn the_parameter_guard_refuses_what_it_must() {
    for (n, t) in [(1, 1), (2, 1), (3, 4), (11, 3), (0, 0)] {
        assert!(threshold::check_parameters(n, t).is_err(), "({n}, {t})");
    }
    for n in 2..=10 {
        for t in 2..=n {
            threshold::check_parameters(n, t).unwrap();
        }
    }
    let shares = threshold::deal(&[1, 0, 1], 3, 2, &mut |b| b.fill(7)).unwrap();
    assert!(threshold::partial(&shares[0], &[2, 3], b"", &[]).is_err(), "custodian 1 is not in the set");
    assert!(threshold::partial(&shares[0], &[1, 1], b"", &[]).is_err(), "duplicates");
    assert!(threshold::partial(&shares[0], &[1, 4], b"", &[]).is_err(), "no custodian 4");
}

/// Why custodians decrypt only what they derived themselves: fed straight to the partial math,
/// ciphertexts a requester crafted return the secret key. Masks 2^123·(e_4q + 2e_4q+1 + 4e_4q+2 +
/// 8e_4q+3) with body 0 decode to 4 key bits each, through an ordinary t-of-n release.
#[test]
fn crafted_masks_turn_partials_into_a_key_oracle() {
    let mut rng = Rng(2024);
    let s = secret(&mut rng);
    let shares = deal(&mut rng, &s, 5, 3);
    let active = [1, 3, 4];
    let quads = 64;
    let masks: Vec<Vec<u128>> = (0..quads)
        .map(|q| {
            let mut a = vec![0u128; N];
            for b in 0..4 {
                a[4 * q + b] = 1u128 << (threshold::DELTA_LOG + b as u32);
            }
            a
        })
        .collect();
    let blocks: Vec<Block<'_>> = masks.iter().map(|m| Block { mask: m, body: 0 }).collect();
    let partials: Vec<Vec<u128>> = active.iter().map(|&i| threshold::partial(&shares[i - 1], &active, b"key", &blocks).unwrap()).collect();
    let decoded = threshold::combine(&vec![0; quads], &partials).unwrap();
    for q in 0..quads {
        let nibble = (0..4).map(|b| (s[4 * q + b] as u8) << b).sum::<u8>();
        assert_eq!((16 - decoded[q]) % 16, nibble, "key coefficients {}..{}", 4 * q, 4 * q + 3);
    }
    // And one custodian alone, on a = 2^115·e_j, returns the sum of its pieces' coefficient j
    // in the bits above the flooding: information about the key from a single partial.
    let mut a = vec![0u128; N];
    a[0] = 1u128 << 115;
    let one = threshold::partial(&shares[0], &active, b"key", &[Block { mask: &a, body: 0 }]).unwrap()[0];
    let mine = shares[0]
        .pieces
        .iter()
        .filter(|p| threshold::owner(p.excluded, 0b1101) == 1)
        .fold(0u128, |acc, p| acc.wrapping_add(p.values[0]));
    let top = |v: u128| v >> 118; // the 10 bits above 2^118 (flooding < 2^113 for 3 of 5)
    let diff = top(one).wrapping_sub(top(mine.wrapping_shl(115))) & 0x3ff;
    assert!(diff <= 1 || diff == 0x3ff, "custodian 1's partial exposes its piece sum's low bits");
}

/// The flooding noise follows the ciphertext block, not the request: the same block in another
/// position or beside other blocks gets the same partial.
#[test]
fn flooding_follows_the_block_however_it_is_wrapped() {
    let mut rng = Rng(5150);
    let s = secret(&mut rng);
    let shares = deal(&mut rng, &s, 5, 3);
    let active = [2, 3, 5];
    let (a1, b1) = encrypt(&mut rng, &s, 3);
    let (a2, b2) = encrypt(&mut rng, &s, 12);
    let x = Block { mask: &a1, body: b1 };
    let y = Block { mask: &a2, body: b2 };
    let alone = threshold::partial(&shares[1], &active, b"key", &[Block { mask: &a1, body: b1 }]).unwrap();
    let pair = threshold::partial(&shares[1], &active, b"key", &[y, x]).unwrap();
    assert_eq!(pair[1], alone[0]);
    let other_key = threshold::partial(&shares[1], &active, b"other", &[Block { mask: &a1, body: b1 }]).unwrap();
    assert_ne!(other_key[0], alone[0]);
}
