package org.medvault.fhe;

/**
 * An encrypted value under one key (its key id travels with it). Compute on it with a
 * {@link ServerKey}, decrypt it with the matching {@link ClientKey}.
 */
public abstract sealed class Ciphertext extends NativeObject permits FheBool, FheUint {
    Ciphertext(long handle) {
        super(handle, Ciphertext::nativeDestroy);
    }

    public abstract FheType<?> type();

    @Override
    String describe() {
        return type().name();
    }

    /** Hex id of the key this ciphertext is under. */
    public String keyId() {
        long h = acquire();
        try {
            return hex(nativeKeyId(h));
        } finally {
            release();
        }
    }

    /** TFHE-rs safe serialization (versioned, size-limited). */
    public byte[] serialize() {
        long h = acquire();
        try {
            return nativeSerialize(h);
        } finally {
            release();
        }
    }

    /**
     * Loads a ciphertext of the given type, checked against MedVault's parameters: bytes of another
     * type, another width, other parameters, or corrupt bytes throw {@link MedVaultException}.
     */
    public static <T extends Ciphertext> T deserialize(FheType<T> type, byte[] bytes) {
        NativeLibrary.load();
        if (bytes == null) {
            throw new MedVaultException(MedVaultException.Code.INVALID_INPUT, "no bytes to load a " + type + " from");
        }
        return type.wrap(nativeDeserialize(type.code(), bytes));
    }

    static native void nativeDestroy(long handle);

    static native int nativeKind(long handle);

    static native byte[] nativeKeyId(long handle);

    static native byte[] nativeSerialize(long handle);

    static native long nativeDeserialize(int kind, byte[] bytes);
}
