package org.medvault.fhe;

/**
 * The secret key: encrypts, decrypts, and derives the public keys. Its key id (a hash of its public
 * material) is stamped into every key and ciphertext made from it. Never log or print it; store it
 * only encrypted (see the CLI's key files).
 */
public final class ClientKey extends NativeObject {
    private ClientKey(long handle) {
        super(handle, ClientKey::nativeDestroy);
    }

    @Override
    String describe() {
        return "client key";
    }

    /** Generates a new secret key with secure default parameters (fast; server keys are the slow part). */
    public static ClientKey generate(FheConfig config) {
        NativeLibrary.load();
        return new ClientKey(nativeGenerate(config.compression(), config.noiseSquashing()));
    }

    /** Loads a key from {@link #serialize()} bytes; checks its parameters and that it has a key id. */
    public static ClientKey deserialize(byte[] bytes) {
        NativeLibrary.load();
        if (bytes == null) {
            throw new MedVaultException(MedVaultException.Code.INVALID_INPUT, "no bytes to load a client key from");
        }
        return new ClientKey(nativeDeserialize(bytes));
    }

    /** Secret bytes: the caller must protect them (encrypt at rest) and wipe them after use. */
    public byte[] serialize() {
        return withHandles(h -> nativeSerialize(h[0]), this);
    }

    public String keyId() {
        return withHandles(h -> hex(nativeKeyId(h[0])), this);
    }

    public FheConfig config() {
        return withHandles(h -> FheConfig.fromBits(nativeFeatures(h[0])), this);
    }

    /**
     * The compact public key: lets anyone encrypt for this key, without any secret. For a key made
     * by {@link #generate} it is the original public key (whose hash is the key id).
     */
    /**
     * The submission key (public key and a new CRS) of a key set just generated with this key:
     * available once, at generation only. Making the CRS takes a while.
     */
    public SubmissionKey takeSubmissionKey() {
        return withHandles(h -> new SubmissionKey(nativeTakeSubmissionKey(h[0])), this);
    }

    public CompactPublicKey compactPublicKey() {
        return withHandles(h -> new CompactPublicKey(nativeCompactPublicKey(h[0])), this);
    }

    /** The evaluation key in its storage form (slow: tens of seconds). */
    public CompressedServerKey compressedServerKey() {
        return withHandles(h -> new CompressedServerKey(nativeCompressedServerKey(h[0])), this);
    }

    /** Encrypts an unsigned clear value (booleans: 0 or 1) as {@code type}. */
    public <T extends Ciphertext> T encrypt(FheType<T> type, long value) {
        type.checkValue(value, "value");
        return withHandles(h -> type.wrap(nativeEncrypt(h[0], type.code(), value)), this);
    }

    /** Decrypts an integer; the result is unsigned (use {@link Long#toUnsignedString} for 64 bits). */
    public long decrypt(FheUint<?> ct) {
        return withHandles(h -> nativeDecrypt(h[0], h[1]), this, ct);
    }

    /** Decrypts any ciphertext to an unsigned value (booleans: 0 or 1). */
    public long decryptValue(Ciphertext ct) {
        return ct instanceof FheBool b ? (decrypt(b) ? 1 : 0) : decrypt((FheUint<?>) ct);
    }

    public boolean decrypt(FheBool ct) {
        return withHandles(h -> nativeDecrypt(h[0], h[1]), this, ct) != 0;
    }

    static native long nativeGenerate(boolean compression, boolean noiseSquashing);

    static native void nativeDestroy(long handle);

    static native byte[] nativeKeyId(long handle);

    static native int nativeFeatures(long handle);

    static native byte[] nativeSerialize(long handle);

    static native long nativeDeserialize(byte[] bytes);

    static native long nativeCompactPublicKey(long handle);

    static native long nativeTakeSubmissionKey(long handle);

    static native long nativeCompressedServerKey(long handle);

    static native long nativeEncrypt(long handle, int kind, long value);

    static native long nativeDecrypt(long handle, long ciphertext);
}
