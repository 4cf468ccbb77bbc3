package org.medvault.fhe;

/** An encrypted 8-bit unsigned integer. */
public final class FheUint8 extends FheUint<FheUint8> {
    FheUint8(long handle) {
        super(handle);
    }

    @Override
    public FheType<FheUint8> type() {
        return FheType.UINT8;
    }

    /** Encrypts an unsigned value (0 to 2^8-1; for 64 bits any long, read as unsigned). */
    public static FheUint8 encrypt(ClientKey key, long value) {
        return key.encrypt(FheType.UINT8, value);
    }

    public static FheUint8 deserialize(byte[] bytes) {
        return Ciphertext.deserialize(FheType.UINT8, bytes);
    }
}
