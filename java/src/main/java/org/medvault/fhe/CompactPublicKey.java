package org.medvault.fhe;

/**
 * The compact public key: anyone can encrypt with it, no secret involved. Values are encrypted in
 * batches into a {@link CompactCiphertextList}, where one ~16 KB mask is shared by up to 2048 blocks.
 */
public final class CompactPublicKey extends NativeObject {
    CompactPublicKey(long handle) {
        super(handle, CompactPublicKey::nativeDestroy);
    }

    @Override
    String describe() {
        return "public key";
    }

    /** Loads a public key; checks its parameters and that it carries a key id. */
    public static CompactPublicKey deserialize(byte[] bytes) {
        NativeLibrary.load();
        if (bytes == null) {
            throw new MedVaultException(MedVaultException.Code.INVALID_INPUT, "no bytes to load a public key from");
        }
        return new CompactPublicKey(nativeDeserialize(bytes));
    }

    public byte[] serialize() {
        return withHandles(h -> nativeSerialize(h[0]), this);
    }

    public String keyId() {
        return withHandles(h -> hex(nativeKeyId(h[0])), this);
    }

    /**
     * Whether this is the public key made at key generation: its key id is the hash of exactly
     * these contents. (A public key derived later from a reloaded client key is equally valid but,
     * encryption being randomized, hashes differently.) Use it to check a key set's files.
     */
    public boolean isOriginal() {
        return withHandles(h -> hex(nativeContentHash(h[0])).equals(hex(nativeKeyId(h[0]))), this);
    }

    /** Starts a batch of values to encrypt into one compact list. */
    public CompactCiphertextList.Builder listBuilder() {
        return new CompactCiphertextList.Builder(this);
    }

    long encryptList(int[] kinds, long[] values) {
        return withHandles(h -> nativeEncryptList(h[0], kinds, values), this);
    }

    static native void nativeDestroy(long handle);

    static native byte[] nativeKeyId(long handle);

    static native byte[] nativeContentHash(long handle);

    static native byte[] nativeSerialize(long handle);

    static native long nativeDeserialize(byte[] bytes);

    static native long nativeEncryptList(long handle, int[] kinds, long[] values);
}
