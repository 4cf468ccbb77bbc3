package org.medvault.fhe;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The public half of proven submissions: a compact public key with dedicated zero-knowledge
 * parameters and the key set's CRS (common reference string). Anyone holding it can encrypt one
 * record and prove that they know every value in it; the vault verifies the proof, casts and
 * sanitizes every block, and clamps values into the schema's ranges ({@link #sanitize}).
 *
 * <p>Whoever made the CRS could forge proofs: it is made with the keys, by the key ceremony.
 */
public final class SubmissionKey extends NativeObject {
    /** The first bytes of a stored, sanitized record (see {@link #sanitize}). */
    private static final byte[] SANITIZED_MAGIC = "MVSREC1\n".getBytes(StandardCharsets.US_ASCII);

    SubmissionKey(long handle) {
        super(handle, SubmissionKey::nativeDestroy);
    }

    @Override
    String describe() {
        return "submission key";
    }

    /** Loads the submission public key and CRS, checked against MedVault's parameters. */
    public static SubmissionKey load(byte[] publicKey, byte[] crs) {
        NativeLibrary.load();
        if (publicKey == null || crs == null) {
            throw new MedVaultException(MedVaultException.Code.INVALID_INPUT, "no bytes to load a submission key from");
        }
        return new SubmissionKey(nativeLoad(publicKey, crs));
    }

    public String keyId() {
        return withHandles(h -> hex(nativeKeyId(h[0])), this);
    }

    public byte[] publicKeyBytes() {
        return withHandles(h -> nativeSerialize(h[0], 0), this);
    }

    public byte[] crsBytes() {
        return withHandles(h -> nativeSerialize(h[0], 1), this);
    }

    /** Encrypts one record's values (in {@code layout}) and proves it, bound to {@code metadata}. */
    public byte[] prove(List<FheType<?>> layout, long[] values, byte[] metadata) {
        if (layout.size() != values.length) {
            throw new MedVaultException(MedVaultException.Code.INVALID_INPUT, layout.size() + " types for " + values.length + " values");
        }
        for (int i = 0; i < values.length; i++) {
            layout.get(i).checkValue(values[i], "value #" + i);
        }
        return withHandles(h -> nativeProve(h[0], codes(layout), values, metadata), this);
    }

    /**
     * Checks a submitted record without a server key: parameters, key id, layout and the proof
     * against {@code metadata}. Cheap next to {@link #sanitize}; throws when anything fails.
     */
    public void verify(byte[] list, byte[] metadata, List<FheType<?>> layout, long[] max, int[] squareOf) {
        withHandles(h -> {
            nativeVerify(h[0], list, metadata, codes(layout), max, squareOf);
            return null;
        }, this);
    }

    /**
     * Verifies a submitted record's proof against {@code metadata}, expands it through tfhe-rs's
     * casting and sanitizing path, clamps slot i to {@code max[i]}, and recomputes slot i as the
     * square of slot {@code squareOf[i]} (when not −1). Returns the stored form of the result.
     */
    public byte[] sanitize(ServerKey serverKey, byte[] list, byte[] metadata, List<FheType<?>> layout, long[] max, int[] squareOf) {
        return withHandles(h -> nativeSanitize(h[0], h[1], list, metadata, codes(layout), max, squareOf), this, serverKey);
    }

    /** Whether a vault chunk holds a sanitized record (rather than a compact list). */
    public static boolean isSanitized(byte[] chunk) {
        return chunk.length >= SANITIZED_MAGIC.length && Arrays.equals(chunk, 0, SANITIZED_MAGIC.length, SANITIZED_MAGIC, 0,
                SANITIZED_MAGIC.length);
    }

    /** The values of a stored sanitized record (the caller closes them). */
    public static List<Ciphertext> readSanitized(byte[] chunk) {
        NativeLibrary.load();
        long[] handles = nativeReadSanitized(chunk);
        int[] kinds = nativeSanitizedKinds(chunk);
        List<Ciphertext> out = new ArrayList<>(handles.length);
        for (int i = 0; i < handles.length; i++) {
            out.add(FheType.ofCode(kinds[i]).wrap(handles[i]));
        }
        return out;
    }

    private static int[] codes(List<FheType<?>> layout) {
        return layout.stream().mapToInt(FheType::code).toArray();
    }

    static native void nativeDestroy(long handle);

    static native byte[] nativeKeyId(long handle);

    static native long nativeLoad(byte[] publicKey, byte[] crs);

    static native byte[] nativeSerialize(long handle, int part);

    static native byte[] nativeProve(long handle, int[] kinds, long[] values, byte[] metadata);

    static native void nativeVerify(long handle, byte[] list, byte[] metadata, int[] kinds, long[] max, int[] squareOf);

    static native byte[] nativeSanitize(long handle, long serverKey, byte[] list, byte[] metadata, int[] kinds, long[] max,
                                        int[] squareOf);

    static native long[] nativeReadSanitized(byte[] chunk);

    static native int[] nativeSanitizedKinds(byte[] chunk);
}
