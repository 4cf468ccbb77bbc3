//! Threshold release math (DESIGN.md, "Threshold release"): replicated (CNF) t-of-n sharing of the
//! 128-bit noise-squashing secret key over Z_2^128, partial decryptions with PRF-derived flooding
//! noise, and combination. Only wrapping u128 arithmetic; no inverses.
//!
//! - Dealing: one additive piece r_A for every (t−1)-subset A of the n custodians, Σ r_A = s.
//!   Custodian i holds every r_A with i ∉ A, and a PRF key k_A per piece. Any t−1 custodians miss
//!   the piece of their own set, which is uniform: they learn nothing about s.
//! - Partial decryption by custodian i in the active set T (|T| = t), per LWE block (a, b): for
//!   each piece A whose owner in T is i (the smallest member of T not in A),
//!   u_A = ⟨a, r_A⟩ + e_A, e_A the sum of two uniforms in [−2^110, 2^110) drawn from
//!   HMAC-SHA256(k_A, key id ‖ ciphertext digest ‖ block): the same request gives the same partial.
//! - Combination: v = b − Σ partials = Δ·m + noise, m = round(v / 2^123) mod 16.
//!
//! This module is the arithmetic; key extraction from tfhe-rs, files and signatures sit above it.

use hmac::{Hmac, Mac};
use sha2::Sha256;
use zeroize::Zeroize;

use crate::error::{Error, Result};

/// Δ for the squashed ciphertexts: 4-bit messages with a padding bit in a 128-bit modulus.
pub const DELTA_LOG: u32 = 123;
/// Flooding: each piece adds the sum of two uniforms in [−2^FLOOD_LOG, 2^FLOOD_LOG).
pub const FLOOD_LOG: u32 = 110;
/// Bound on the squashed ciphertext's own noise (Zama's threshold design: 2^70).
pub const SQUASHED_NOISE_LOG: u32 = 70;
pub const MAX_CUSTODIANS: usize = 10;

/// One additive piece of the secret, for the (t−1)-subset `excluded` (bit i = custodian i+1).
#[derive(Clone)]
pub struct Piece {
    pub excluded: u16,
    pub values: Vec<u128>,
    pub prf_key: [u8; 32],
}

impl Drop for Piece {
    fn drop(&mut self) {
        self.values.zeroize();
        self.prf_key.zeroize();
    }
}

/// What custodian `index` (1-based) holds: every piece whose subset does not contain it.
#[derive(Clone)]
pub struct Share {
    pub index: usize,
    pub n: usize,
    pub t: usize,
    pub pieces: Vec<Piece>,
}

fn binomial(n: usize, k: usize) -> u128 {
    let mut r: u128 = 1;
    for i in 0..k {
        r = r * (n - i) as u128 / (i + 1) as u128;
    }
    r
}

/// Refuses (n, t) outside 2 ≤ t ≤ n ≤ 10, or whose flooding could reach the decoding bound:
/// C(n, t−1)·2^111 + 2^70 must stay below Δ/2 = 2^122.
pub fn check_parameters(n: usize, t: usize) -> Result<()> {
    if !(2..=MAX_CUSTODIANS).contains(&n) || t < 2 || t > n {
        return Err(Error::invalid(format!("need 2 ≤ threshold ≤ custodians ≤ {MAX_CUSTODIANS}; got {t} of {n}")));
    }
    let pieces = binomial(n, t - 1);
    let worst = pieces.checked_mul(1u128 << (FLOOD_LOG + 1)).and_then(|f| f.checked_add(1u128 << SQUASHED_NOISE_LOG));
    match worst {
        Some(w) if w < (1u128 << (DELTA_LOG - 1)) => Ok(()),
        _ => Err(Error::invalid(format!(
            "{t} of {n}: {pieces} pieces of flooding noise could exceed the decoding bound"
        ))),
    }
}

/// Every (t−1)-subset of {1..n}, as bit masks, in a fixed order.
pub fn subsets(n: usize, size: usize) -> Vec<u16> {
    (0u16..(1u16 << n)).filter(|m| m.count_ones() as usize == size).collect()
}

/// Deals `secret` into n shares for threshold t. `random` fills buffers with uniform bytes
/// (the OS CSPRNG in production; a seeded generator in tests).
pub fn deal(secret: &[u128], n: usize, t: usize, random: &mut dyn FnMut(&mut [u8])) -> Result<Vec<Share>> {
    check_parameters(n, t)?;
    let sets = subsets(n, t - 1);
    let mut pieces: Vec<Piece> = Vec::with_capacity(sets.len());
    let mut sum = vec![0u128; secret.len()];
    for (k, &excluded) in sets.iter().enumerate() {
        let mut values = vec![0u128; secret.len()];
        if k + 1 < sets.len() {
            let mut bytes = vec![0u8; 16 * secret.len()];
            random(&mut bytes);
            for (v, chunk) in values.iter_mut().zip(bytes.chunks_exact(16)) {
                *v = u128::from_le_bytes(chunk.try_into().expect("16 bytes"));
            }
            bytes.zeroize();
            for (s, v) in sum.iter_mut().zip(&values) {
                *s = s.wrapping_add(*v);
            }
        } else {
            for ((v, s), x) in values.iter_mut().zip(&sum).zip(secret) {
                *v = x.wrapping_sub(*s);
            }
        }
        let mut prf_key = [0u8; 32];
        random(&mut prf_key);
        pieces.push(Piece { excluded, values, prf_key });
    }
    sum.zeroize();
    Ok((1..=n)
        .map(|i| Share {
            index: i,
            n,
            t,
            pieces: pieces.iter().filter(|p| p.excluded & (1 << (i - 1)) == 0).cloned().collect(),
        })
        .collect())
}

/// The active set as a mask; checks it has exactly t distinct custodians in 1..=n.
pub fn active_mask(active: &[usize], n: usize, t: usize) -> Result<u16> {
    let mut mask = 0u16;
    for &i in active {
        if i == 0 || i > n {
            return Err(Error::invalid(format!("custodian {i} is not in 1..{n}")));
        }
        if mask & (1 << (i - 1)) != 0 {
            return Err(Error::invalid(format!("custodian {i} is listed twice")));
        }
        mask |= 1 << (i - 1);
    }
    if active.len() != t {
        return Err(Error::invalid(format!("the signer set has {} custodians; the threshold is {t}", active.len())));
    }
    Ok(mask)
}

/// The custodian (1-based) who computes the piece for `excluded` in active set `active`.
pub fn owner(excluded: u16, active: u16) -> usize {
    let candidates = active & !excluded;
    candidates.trailing_zeros() as usize + 1
}

fn flooding(prf_key: &[u8; 32], context: &[u8], block: u64) -> u128 {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(prf_key).expect("HMAC takes any key length");
    mac.update(b"medvault-flood-v1\0");
    mac.update(context);
    mac.update(&block.to_le_bytes());
    let out = mac.finalize().into_bytes();
    let mask = (1u128 << (FLOOD_LOG + 1)) - 1;
    let u1 = (u128::from_le_bytes(out[..16].try_into().expect("16")) & mask).wrapping_sub(1u128 << FLOOD_LOG);
    let u2 = (u128::from_le_bytes(out[16..].try_into().expect("16")) & mask).wrapping_sub(1u128 << FLOOD_LOG);
    u1.wrapping_add(u2)
}

/// One LWE block of a squashed ciphertext: mask a (length of the key) and body b.
pub struct Block<'a> {
    pub mask: &'a [u128],
    pub body: u128,
}

/// Custodian `share.index`'s partial decryption of `blocks` for active set `active`.
/// `context` binds the flooding noise to the key id and the ciphertext digest.
pub fn partial(share: &Share, active: &[usize], context: &[u8], blocks: &[Block<'_>]) -> Result<Vec<u128>> {
    let act = active_mask(active, share.n, share.t)?;
    if act & (1 << (share.index - 1)) == 0 {
        return Err(Error::invalid(format!("custodian {} is not in the signer set", share.index)));
    }
    let mine: Vec<&Piece> = share.pieces.iter().filter(|p| owner(p.excluded, act) == share.index).collect();
    let mut out = Vec::with_capacity(blocks.len());
    for (j, b) in blocks.iter().enumerate() {
        let mut acc = 0u128;
        for p in &mine {
            if p.values.len() != b.mask.len() {
                return Err(Error::mismatch(format!(
                    "a key piece has {} coefficients, the ciphertext mask {}",
                    p.values.len(),
                    b.mask.len()
                )));
            }
            let dot = p.values.iter().zip(b.mask).fold(0u128, |s, (r, a)| s.wrapping_add(r.wrapping_mul(*a)));
            acc = acc.wrapping_add(dot).wrapping_add(flooding(&p.prf_key, context, j as u64));
        }
        out.push(acc);
    }
    Ok(out)
}

/// Combines t partials (one vector per custodian, same block order) into the 4-bit messages.
pub fn combine(bodies: &[u128], partials: &[Vec<u128>]) -> Result<Vec<u8>> {
    if partials.iter().any(|p| p.len() != bodies.len()) {
        return Err(Error::invalid("partials and ciphertext have different block counts"));
    }
    Ok(bodies
        .iter()
        .enumerate()
        .map(|(j, &b)| {
            let v = partials.iter().fold(b, |v, p| v.wrapping_sub(p[j]));
            (((v.wrapping_add(1u128 << (DELTA_LOG - 1))) >> DELTA_LOG) & 0xF) as u8
        })
        .collect())
}

// ---- tfhe-rs glue: the key to share and the squashed blocks to decrypt ----

/// The 128-bit noise-squashing secret key of `ck`, flattened to its LWE form (the dealer's input).
/// The caller wipes it after dealing.
pub fn squashing_secret(ck: &tfhe::ClientKey) -> Result<Vec<u128>> {
    let (_, _, _, squashing, ..) = ck.clone().into_raw_parts();
    let key = squashing
        .ok_or_else(|| Error::unsupported("this key has no noise-squashing key; generate it with noise squashing"))?
        .into_raw_parts();
    Ok(key.post_noise_squashing_lwe_secret_key().as_ref().to_vec())
}

/// The LWE blocks (mask, body) of a squashed integer, least significant first.
pub fn squashed_blocks(ct: &tfhe::SquashedNoiseFheUint) -> Vec<(Vec<u128>, u128)> {
    let radix = ct.underlying_squashed_noise_ciphertext();
    radix
        .packed_blocks()
        .iter()
        .map(|b| {
            let (mask, body) = b.lwe_ciphertext().get_mask_and_body();
            (mask.as_ref().to_vec(), *body.data)
        })
        .collect()
}

/// Recomposes decrypted 4-bit packed blocks (least significant first) into the integer.
pub fn recompose(messages: &[u8]) -> u128 {
    messages.iter().rev().fold(0u128, |acc, &m| (acc << 4) | (m & 0xF) as u128)
}
