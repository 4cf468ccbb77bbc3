//! Threshold release math (docs/architecture.md, "Threshold release math"): replicated (CNF) t-of-n sharing of the
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
//! This module is the arithmetic, the tfhe-rs glue (the key to share, squashed blocks, their
//! conformance) and the two native formats (shares and partials), as plain Rust tested on its
//! own (`rust/tests/threshold.rs`, `threshold_tfhe.rs`, `determinism.rs`); `threshold.rs` is the
//! thin JNI surface of `Threshold.java` over it. Files and signatures sit above, in Java.

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

/// The flooding noise of one piece for one ciphertext block: a PRF of the piece's key over the
/// key id and the block's own bytes. It depends on nothing else, so the same block gets the same
/// noise however it is wrapped (another file, another output position, another request).
fn flooding(prf_key: &[u8; 32], key_id: &[u8], block_digest: &[u8; 32]) -> u128 {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(prf_key).expect("HMAC takes any key length");
    mac.update(b"medvault-flood-v2\0");
    mac.update(&(key_id.len() as u32).to_le_bytes());
    mac.update(key_id);
    mac.update(block_digest);
    let out = mac.finalize().into_bytes();
    let mask = (1u128 << (FLOOD_LOG + 1)) - 1;
    let u1 = (u128::from_le_bytes(out[..16].try_into().expect("16")) & mask).wrapping_sub(1u128 << FLOOD_LOG);
    let u2 = (u128::from_le_bytes(out[16..].try_into().expect("16")) & mask).wrapping_sub(1u128 << FLOOD_LOG);
    u1.wrapping_add(u2)
}

/// SHA-256 of one LWE block: every mask coefficient and the body, little-endian.
pub fn block_digest(b: &Block<'_>) -> [u8; 32] {
    use sha2::Digest;
    let mut h = Sha256::new();
    for a in b.mask {
        h.update(a.to_le_bytes());
    }
    h.update(b.body.to_le_bytes());
    h.finalize().into()
}

/// One LWE block of a squashed ciphertext: mask a (length of the key) and body b.
pub struct Block<'a> {
    pub mask: &'a [u128],
    pub body: u128,
}

/// Custodian `share.index`'s partial decryption of `blocks` for active set `active`; the flooding
/// noise of each piece is bound to `key_id` and each block's bytes.
///
/// This is a decryption oracle for whatever blocks it is given (a mask 2^123·e_j returns key
/// coefficient j above the noise): callers pass only ciphertexts they derived themselves.
pub fn partial(share: &Share, active: &[usize], key_id: &[u8], blocks: &[Block<'_>]) -> Result<Vec<u128>> {
    let act = active_mask(active, share.n, share.t)?;
    if act & (1 << (share.index - 1)) == 0 {
        return Err(Error::invalid(format!("custodian {} is not in the signer set", share.index)));
    }
    let mine: Vec<&Piece> = share.pieces.iter().filter(|p| owner(p.excluded, act) == share.index).collect();
    let mut out = Vec::with_capacity(blocks.len());
    for b in blocks {
        let digest = block_digest(b);
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
            acc = acc.wrapping_add(dot).wrapping_add(flooding(&p.prf_key, key_id, &digest));
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
/// tfhe-rs lends no reference to it, so this takes it out of a copy of the key; the rest of the
/// copy is wiped here, the returned coefficients are the caller's to wipe after dealing.
pub fn squashing_secret(ck: &tfhe::ClientKey) -> Result<Vec<u128>> {
    let mut copy = crate::secret::parts(ck.clone());
    let squashing = copy.3.take();
    crate::secret::wipe_parts(copy);
    let key = squashing.ok_or_else(|| Error::unsupported("this key has no noise-squashing key; generate it with noise squashing"))?;
    // The GLWE key's container is its LWE form (`post_noise_squashing_lwe_secret_key` views it).
    Ok(key.into_raw_parts().into_raw_parts().0.into_container())
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

// ---- native formats: shares and partial decryptions ----

use tfhe::prelude::*;

const SHARE_MAGIC: &[u8; 8] = b"MVSHARE1";
pub const PARTIAL_MAGIC: &[u8; 8] = b"MVPART01";

/// Share bytes: magic, index, n, t (u8 each), piece count (u16 LE), then per piece: excluded
/// (u16 LE), PRF key (32 B), coefficient count (u32 LE), coefficients (u128 LE).
pub fn share_to_bytes(s: &Share) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(SHARE_MAGIC);
    out.extend_from_slice(&[s.index as u8, s.n as u8, s.t as u8]);
    out.extend_from_slice(&(s.pieces.len() as u16).to_le_bytes());
    for p in &s.pieces {
        out.extend_from_slice(&p.excluded.to_le_bytes());
        out.extend_from_slice(&p.prf_key);
        out.extend_from_slice(&(p.values.len() as u32).to_le_bytes());
        for v in &p.values {
            out.extend_from_slice(&v.to_le_bytes());
        }
    }
    out
}

struct Reader<'a> {
    b: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        let end = self.at.checked_add(n).filter(|&e| e <= self.b.len()).ok_or_else(|| Error::corrupt("truncated threshold data"))?;
        let s = &self.b[self.at..end];
        self.at = end;
        Ok(s)
    }
    fn u8(&mut self) -> Result<u8> {
        Ok(self.take(1)?[0])
    }
    fn u16(&mut self) -> Result<u16> {
        Ok(u16::from_le_bytes(self.take(2)?.try_into().expect("2")))
    }
    fn u32(&mut self) -> Result<u32> {
        Ok(u32::from_le_bytes(self.take(4)?.try_into().expect("4")))
    }
    fn u128(&mut self) -> Result<u128> {
        Ok(u128::from_le_bytes(self.take(16)?.try_into().expect("16")))
    }
}

pub fn share_from_bytes(b: &[u8]) -> Result<Share> {
    let mut r = Reader { b, at: 0 };
    if r.take(8)? != SHARE_MAGIC {
        return Err(Error::corrupt("not a MedVault key share"));
    }
    let (index, n, t) = (r.u8()? as usize, r.u8()? as usize, r.u8()? as usize);
    check_parameters(n, t)?;
    if index == 0 || index > n {
        return Err(Error::corrupt(format!("share index {index} outside 1..{n}")));
    }
    let count = r.u16()? as usize;
    let mut pieces = Vec::with_capacity(count);
    for _ in 0..count {
        let excluded = r.u16()?;
        let prf_key: [u8; 32] = r.take(32)?.try_into().expect("32");
        let len = r.u32()? as usize;
        if len > 1 << 16 {
            return Err(Error::corrupt("share piece too long"));
        }
        let mut values = Vec::with_capacity(len);
        for _ in 0..len {
            values.push(r.u128()?);
        }
        if excluded & (1 << (index - 1)) != 0 || excluded.count_ones() as usize != t - 1 {
            return Err(Error::corrupt("share holds a piece it should not"));
        }
        pieces.push(Piece { excluded, values, prf_key });
    }
    if r.at != b.len() {
        return Err(Error::corrupt("trailing bytes after the share"));
    }
    Ok(Share { index, n, t, pieces })
}

/// A squashed ciphertext holds at most 32 LWE blocks of 4097 u128 (a 64-bit output: ~2.1 MB);
/// nothing larger is read.
const LIMIT_SQUASHED: u64 = 1 << 22;

/// The LWE dimension of squashed ciphertexts under MedVault's parameters (2 × 2048).
pub fn squashed_dimension() -> usize {
    use tfhe::shortint::parameters::NOISE_SQUASHING_PARAM_MESSAGE_2_CARRY_2_KS_PBS_TUNIFORM_2M128 as P;
    P.glwe_dimension().0 * P.polynomial_size().0
}

/// Loads a squashed ciphertext and checks it conforms to what MedVault's squashing produces
/// (tfhe-rs has no conformance parameters for this type): the key id `key_id`, an integer of
/// `bits` bits (8, 16, 32 or 64; 0 = any of them), packed 4-bit blocks of the squashing dimension
/// under the native 128-bit modulus, and degrees a 4-bit message can have.
pub fn load_squashed(bytes: &[u8], key_id: &[u8], bits: u32) -> Result<tfhe::SquashedNoiseFheUint> {
    let ct: tfhe::SquashedNoiseFheUint = crate::params::deserialize(bytes, LIMIT_SQUASHED, "squashed ciphertext")?;
    crate::params::check_same_key("squashed ciphertext", ct.tag(), "key", &{
        let mut t = tfhe::Tag::default();
        t.set_data(key_id);
        t
    })?;
    let radix = ct.underlying_squashed_noise_ciphertext();
    let blocks = radix.packed_blocks();
    let original = radix.original_block_count();
    let nonconformant = |why: String| Error::mismatch(format!("squashed ciphertext does not conform to MedVault's parameters: {why}"));
    if ![4, 8, 16, 32].contains(&original) || (bits != 0 && original as u32 * 2 != bits) {
        return Err(nonconformant(format!("{original} blocks of 2 bits for a {bits}-bit output")));
    }
    if blocks.len() != original.div_ceil(2) {
        return Err(nonconformant(format!("{} packed blocks for {original} blocks", blocks.len())));
    }
    let params = tfhe::core_crypto::prelude::LweCiphertextConformanceParams {
        lwe_dim: tfhe::core_crypto::prelude::LweDimension(squashed_dimension()),
        ct_modulus: tfhe::core_crypto::prelude::CiphertextModulus::<u128>::new_native(),
    };
    use tfhe::conformance::ParameterSetConformant;
    for (i, b) in blocks.iter().enumerate() {
        if !b.lwe_ciphertext().is_conformant(&params) {
            return Err(nonconformant(format!("block {i} is not an LWE ciphertext of dimension {}", squashed_dimension())));
        }
        if b.message_modulus().0 * b.carry_modulus().0 != 16 || b.degree().get() > 15 {
            return Err(nonconformant(format!("block {i} does not carry a 4-bit message")));
        }
    }
    drop(radix);
    Ok(ct)
}

/// The noise-squashed, serialized form of an integer output (server key with noise squashing
/// installed on this thread).
pub fn squash_to_bytes(ct: &crate::ciphertext::Ct) -> Result<Vec<u8>> {
    use crate::ciphertext::Ct;
    let squashed = match ct {
        Ct::U8(x) => x.squash_noise()?,
        Ct::U16(x) => x.squash_noise()?,
        Ct::U32(x) => x.squash_noise()?,
        Ct::U64(x) => x.squash_noise()?,
        Ct::Bool(_) => return Err(Error::unsupported("squash an integer; cast booleans first")),
    };
    crate::params::serialize(&squashed, LIMIT_SQUASHED, "squashed ciphertext")
}

fn os_random(buf: &mut [u8]) {
    getrandom::getrandom(buf).expect("the OS random generator is unavailable");
}

/// Deals the noise-squashing secret of `ck` into n serialized shares (OS randomness); the plain
/// secret is wiped before returning. The caller wipes the shares.
pub fn deal_key(ck: &tfhe::ClientKey, n: usize, t: usize) -> Result<Vec<Vec<u8>>> {
    check_parameters(n, t)?;
    let mut secret = squashing_secret(ck)?;
    let shares = deal(&secret, n, t, &mut os_random);
    secret.zeroize();
    Ok(shares?.iter().map(share_to_bytes).collect())
}

/// A share's (custodian index, n, t), after the validation a partial does. The share bytes are
/// the caller's to wipe.
pub fn share_info(share: &[u8]) -> Result<(usize, usize, usize)> {
    let s = share_from_bytes(share)?;
    Ok((s.index, s.n, s.t))
}

/// A custodian's partial decryption of `squashed` (serialized, `bits[k]`-bit outputs under key
/// `key_id`, each conformance-checked), in the native partial format: magic, index, n, t (u8),
/// active mask (u16), key id length (u32) + key id, then per ciphertext: block count (u32) and
/// the partials (u128 LE).
pub fn partial_bytes(share: &Share, active: &[usize], key_id: &[u8], squashed: &[Vec<u8>], bits: &[usize]) -> Result<Vec<u8>> {
    if bits.len() != squashed.len() {
        return Err(Error::invalid(format!("{} ciphertexts but {} widths", squashed.len(), bits.len())));
    }
    let mask = active_mask(active, share.n, share.t)?;
    let mut out = Vec::new();
    out.extend_from_slice(PARTIAL_MAGIC);
    out.extend_from_slice(&[share.index as u8, share.n as u8, share.t as u8]);
    out.extend_from_slice(&mask.to_le_bytes());
    out.extend_from_slice(&(key_id.len() as u32).to_le_bytes());
    out.extend_from_slice(key_id);
    for (bytes, &w) in squashed.iter().zip(bits) {
        let ct = load_squashed(bytes, key_id, w as u32)?;
        let blocks = squashed_blocks(&ct);
        let view: Vec<Block<'_>> = blocks.iter().map(|(m, b)| Block { mask: m, body: *b }).collect();
        let p = partial(share, active, key_id, &view)?;
        out.extend_from_slice(&(p.len() as u32).to_le_bytes());
        for v in p {
            out.extend_from_slice(&v.to_le_bytes());
        }
    }
    Ok(out)
}

/// A parsed native partial decryption.
pub struct Partial {
    pub index: usize,
    pub n: usize,
    pub t: usize,
    pub active: u16,
    pub key_id: Vec<u8>,
    pub values: Vec<Vec<u128>>,
}

pub fn parse_partial(b: &[u8]) -> Result<Partial> {
    let mut r = Reader { b, at: 0 };
    if r.take(8)? != PARTIAL_MAGIC {
        return Err(Error::corrupt("not a MedVault partial decryption"));
    }
    let (index, n, t) = (r.u8()? as usize, r.u8()? as usize, r.u8()? as usize);
    check_parameters(n, t).map_err(|e| Error::corrupt(format!("partial decryption: {}", e.message)))?;
    if index == 0 || index > n {
        return Err(Error::corrupt(format!("partial decryption of custodian {index}, outside 1..{n}")));
    }
    let active = r.u16()?;
    let klen = r.u32()? as usize;
    let key_id = r.take(klen)?.to_vec();
    let mut values = Vec::new();
    while r.at < b.len() {
        let len = r.u32()? as usize;
        if len > 16 {
            return Err(Error::corrupt("a partial decryption claims more blocks than any output has"));
        }
        let mut v = Vec::with_capacity(len);
        for _ in 0..len {
            v.push(r.u128()?);
        }
        values.push(v);
    }
    Ok(Partial { index, n, t, active, key_id, values })
}

/// The values of `squashed` (`bits[k]`-bit outputs, conformance-checked under the key id the
/// partials name) from exactly the t native partials of one signer set.
pub fn combine_partials(squashed: &[Vec<u8>], bits: &[usize], partials: &[Vec<u8>]) -> Result<Vec<u64>> {
    if bits.len() != squashed.len() {
        return Err(Error::invalid(format!("{} ciphertexts but {} widths", squashed.len(), bits.len())));
    }
    let ps = partials.iter().map(|b| parse_partial(b)).collect::<Result<Vec<_>>>()?;
    let first = ps.first().ok_or_else(|| Error::invalid("no partial decryptions"))?;
    let (n, t, active, key_id) = (first.n, first.t, first.active, first.key_id.clone());
    let mut seen = 0u16;
    for p in &ps {
        if p.n != n || p.t != t || p.active != active || p.key_id != key_id {
            return Err(Error::mismatch(format!(
                "partial of custodian {} is for another signer set, threshold or key",
                p.index
            )));
        }
        if seen & (1 << (p.index - 1)) != 0 {
            return Err(Error::invalid(format!("two partials from custodian {}", p.index)));
        }
        seen |= 1 << (p.index - 1);
        if p.values.len() != squashed.len() {
            return Err(Error::invalid(format!(
                "custodian {}'s partial covers {} ciphertexts; the result has {}",
                p.index,
                p.values.len(),
                squashed.len()
            )));
        }
    }
    if ps.len() < t {
        return Err(Error::invalid(format!("{} partial(s); the threshold is {t}", ps.len())));
    }
    if seen != active {
        return Err(Error::invalid("the partials do not come from exactly the signer set they name"));
    }
    let mut out = Vec::with_capacity(squashed.len());
    for (k, (bytes, &w)) in squashed.iter().zip(bits).enumerate() {
        let ct = load_squashed(bytes, &key_id, w as u32)?;
        let bodies: Vec<u128> = squashed_blocks(&ct).iter().map(|b| b.1).collect();
        let mine: Vec<Vec<u128>> = ps.iter().map(|p| p.values[k].clone()).collect();
        out.push(recompose(&combine(&bodies, &mine)?) as u64);
    }
    Ok(out)
}
