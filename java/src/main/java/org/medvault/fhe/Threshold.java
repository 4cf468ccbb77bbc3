package org.medvault.fhe;

import java.util.HexFormat;
import java.util.List;

/**
 * Threshold release primitives (t of n custodians), over TFHE-rs noise squashing:
 * {@link #deal} splits a key's 128-bit noise-squashing secret into replicated shares,
 * {@link #squash} prepares a result for release, {@link #partial} is one custodian's flooded
 * partial decryption, {@link #combine} recovers the values from exactly t partials of one signer
 * set. Share bytes are secret: seal them (e.g. under the custodian's passphrase) and wipe them.
 */
public final class Threshold {
    static {
        NativeLibrary.load();
    }

    private Threshold() {}

    /** Refuses (n, t) outside 2 ≤ t ≤ n ≤ 10 or violating the flooding guard (INVALID_INPUT). */
    public static void checkParameters(int custodians, int threshold) {
        nativeCheck(custodians, threshold);
    }

    /** A share's {custodian index, n, t}, read by the native parser (CORRUPT_DATA if it is not a share). */
    public static int[] shareInfo(byte[] share) {
        return nativeShareInfo(share);
    }

    /** Replicated t-of-n shares of the key's noise-squashing secret (the key needs noise squashing). */
    public static List<byte[]> deal(ClientKey key, int custodians, int threshold) {
        byte[][] shares = NativeObject.withHandles(h -> nativeDeal(h[0], custodians, threshold), key);
        return List.of(shares);
    }

    /** The noise-squashed form of a result, as bytes (needs a server key with noise squashing). */
    public static byte[] squash(ServerKey sk, FheUint<?> ct) {
        return NativeObject.withHandles(h -> nativeSquash(h[0], h[1]), sk, ct);
    }

    /**
     * Custodian's partial decryption of {@code squashed} ({@code bits[k]}-bit outputs under key
     * {@code keyId}, hex) for the signer set {@code signers} (1-based indices, exactly t of them).
     * Each ciphertext's flooding noise is a function of the share, the key id and that ciphertext's
     * own bytes: the same ciphertext always gives the same partial, however it is wrapped.
     *
     * <p><b>Only pass ciphertexts you derived yourself</b> (re-ran the query): over crafted
     * ciphertexts a partial decryption is an oracle for the secret key. Every ciphertext is checked
     * for conformance (key id, width, dimension, modulus) before any arithmetic.
     */
    public static byte[] partial(byte[] share, int[] signers, String keyId, List<byte[]> squashed, int[] bits) {
        return nativePartial(share, signers, HexFormat.of().parseHex(keyId), squashed.toArray(new byte[0][]), bits);
    }

    /**
     * The values of {@code squashed} ({@code bits[k]}-bit outputs, conformance-checked under the
     * key id the partials name), from exactly the t partials of one signer set (else
     * INVALID_INPUT/KEY_MISMATCH).
     */
    public static long[] combine(List<byte[]> squashed, int[] bits, List<byte[]> partials) {
        return nativeCombine(squashed.toArray(new byte[0][]), bits, partials.toArray(new byte[0][]));
    }

    /** The squashed block count of each ciphertext a native partial covers (CORRUPT_DATA if it is none). */
    public static List<Integer> partialBlocks(byte[] partial) {
        return java.util.Arrays.stream(nativePartialBlocks(partial)).boxed().toList();
    }

    private static native void nativeCheck(int n, int t);

    private static native int[] nativePartialBlocks(byte[] partial);

    private static native int[] nativeShareInfo(byte[] share);

    private static native byte[][] nativeDeal(long clientKey, int n, int t);

    private static native byte[] nativeSquash(long serverKey, long ciphertext);

    private static native byte[] nativePartial(byte[] share, int[] signers, byte[] keyId, byte[][] squashed, int[] bits);

    private static native long[] nativeCombine(byte[][] squashed, int[] bits, byte[][] partials);
}
