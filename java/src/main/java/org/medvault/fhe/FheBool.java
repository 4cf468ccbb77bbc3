package org.medvault.fhe;

/** An encrypted boolean. */
public final class FheBool extends Ciphertext {
    FheBool(long handle) {
        super(handle);
    }

    @Override
    public FheType<FheBool> type() {
        return FheType.BOOL;
    }

    public static FheBool encrypt(ClientKey key, boolean value) {
        return key.encrypt(FheType.BOOL, value ? 1 : 0);
    }

    public static FheBool deserialize(byte[] bytes) {
        return Ciphertext.deserialize(FheType.BOOL, bytes);
    }
}
