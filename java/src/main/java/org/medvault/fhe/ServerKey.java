package org.medvault.fhe;

import java.util.List;

/**
 * The evaluation key (public): computes on ciphertexts of its own key id. It is a per-call
 * context, so any Java thread may compute with it concurrently. Operations on integers wrap
 * around modulo 2^width; each returns a new ciphertext that the caller closes.
 */
public final class ServerKey extends NativeObject {
    // Operation codes shared with rust/src/server_key.rs.
    private static final int ADD = 0;
    private static final int SUB = 1;
    private static final int MUL = 2;
    private static final int MIN = 3;
    private static final int MAX = 4;
    private static final int AND = 5;
    private static final int OR = 6;
    private static final int XOR = 7;

    private static final int EQ = 0;
    private static final int NE = 1;
    private static final int LT = 2;
    private static final int LE = 3;
    private static final int GT = 4;
    private static final int GE = 5;

    ServerKey(long handle) {
        super(handle, ServerKey::nativeDestroy);
    }

    @Override
    String describe() {
        return "server key";
    }

    /** Loads an uncompressed server key; checks it against MedVault's parameters. */
    public static ServerKey deserialize(byte[] bytes) {
        NativeLibrary.load();
        if (bytes == null) {
            throw new MedVaultException(MedVaultException.Code.INVALID_INPUT, "no bytes to load a server key from");
        }
        return new ServerKey(nativeDeserialize(bytes));
    }

    public byte[] serialize() {
        return withHandles(h -> nativeSerialize(h[0]), this);
    }

    public String keyId() {
        return withHandles(h -> hex(nativeKeyId(h[0])), this);
    }

    public FheConfig config() {
        return withHandles(h -> FheConfig.fromBits(nativeFeatures(h[0])), this);
    }

    // ---- arithmetic and bitwise ----

    public <T extends FheUint<T>> T add(T a, T b) {
        return binary(ADD, a, b);
    }

    public <T extends FheUint<T>> T sub(T a, T b) {
        return binary(SUB, a, b);
    }

    public <T extends FheUint<T>> T mul(T a, T b) {
        return binary(MUL, a, b);
    }

    public <T extends FheUint<T>> T min(T a, T b) {
        return binary(MIN, a, b);
    }

    public <T extends FheUint<T>> T max(T a, T b) {
        return binary(MAX, a, b);
    }

    public <T extends FheUint<T>> T bitAnd(T a, T b) {
        return binary(AND, a, b);
    }

    public <T extends FheUint<T>> T bitOr(T a, T b) {
        return binary(OR, a, b);
    }

    public <T extends FheUint<T>> T bitXor(T a, T b) {
        return binary(XOR, a, b);
    }

    public <T extends FheUint<T>> T add(T a, long scalar) {
        return scalar(ADD, a, scalar);
    }

    public <T extends FheUint<T>> T sub(T a, long scalar) {
        return scalar(SUB, a, scalar);
    }

    public <T extends FheUint<T>> T mul(T a, long scalar) {
        return scalar(MUL, a, scalar);
    }

    public <T extends FheUint<T>> T min(T a, long scalar) {
        return scalar(MIN, a, scalar);
    }

    public <T extends FheUint<T>> T max(T a, long scalar) {
        return scalar(MAX, a, scalar);
    }

    /** Bitwise complement for integers ({@code 2^width - 1 - a}). */
    public <T extends FheUint<T>> T bitNot(T a) {
        return a.type().wrap(withHandles(h -> nativeNot(h[0], h[1]), this, a));
    }

    // ---- comparisons ----

    public <T extends FheUint<T>> FheBool eq(T a, T b) {
        return compare(EQ, a, b);
    }

    public <T extends FheUint<T>> FheBool ne(T a, T b) {
        return compare(NE, a, b);
    }

    public <T extends FheUint<T>> FheBool lt(T a, T b) {
        return compare(LT, a, b);
    }

    public <T extends FheUint<T>> FheBool le(T a, T b) {
        return compare(LE, a, b);
    }

    public <T extends FheUint<T>> FheBool gt(T a, T b) {
        return compare(GT, a, b);
    }

    public <T extends FheUint<T>> FheBool ge(T a, T b) {
        return compare(GE, a, b);
    }

    public FheBool eq(Ciphertext a, long scalar) {
        return compareScalar(EQ, a, scalar);
    }

    public FheBool ne(Ciphertext a, long scalar) {
        return compareScalar(NE, a, scalar);
    }

    public FheBool lt(FheUint<?> a, long scalar) {
        return compareScalar(LT, a, scalar);
    }

    public FheBool le(FheUint<?> a, long scalar) {
        return compareScalar(LE, a, scalar);
    }

    public FheBool gt(FheUint<?> a, long scalar) {
        return compareScalar(GT, a, scalar);
    }

    public FheBool ge(FheUint<?> a, long scalar) {
        return compareScalar(GE, a, scalar);
    }

    // ---- booleans ----

    public FheBool and(FheBool a, FheBool b) {
        return binary(AND, a, b);
    }

    public FheBool or(FheBool a, FheBool b) {
        return binary(OR, a, b);
    }

    public FheBool xor(FheBool a, FheBool b) {
        return binary(XOR, a, b);
    }

    public FheBool not(FheBool a) {
        return FheType.BOOL.wrap(withHandles(h -> nativeNot(h[0], h[1]), this, a));
    }

    public FheBool eq(FheBool a, FheBool b) {
        return compare(EQ, a, b);
    }

    // ---- selection, casts, sums ----

    /** {@code cond ? ifTrue : ifFalse}, without revealing {@code cond}. */
    public <T extends Ciphertext> T select(FheBool cond, T ifTrue, T ifFalse) {
        @SuppressWarnings("unchecked")
        FheType<T> type = (FheType<T>) ifTrue.type();
        return type.wrap(withHandles(h -> nativeSelect(h[0], h[1], h[2], h[3]), this, cond, ifTrue, ifFalse));
    }

    /**
     * Converts to another width: truncates when narrowing, zero-extends when widening; a boolean
     * becomes 0 or 1; an integer cast to {@link FheType#BOOL} is {@code a != 0}.
     */
    public <T extends Ciphertext> T cast(Ciphertext a, FheType<T> to) {
        return to.wrap(withHandles(h -> nativeCast(h[0], h[1], to.code()), this, a));
    }

    /** Sum of many ciphertexts of one width (wrapping), as one deferred-carry reduction. */
    public <T extends FheUint<T>> T sum(List<T> cts) {
        if (cts == null || cts.isEmpty()) {
            throw new MedVaultException(MedVaultException.Code.INVALID_INPUT, "sum of an empty list");
        }
        NativeObject[] objects = new NativeObject[cts.size() + 1];
        objects[0] = this;
        for (int i = 0; i < cts.size(); i++) {
            objects[i + 1] = cts.get(i);
        }
        FheType<T> type = cts.get(0).type();
        return type.wrap(withHandles(h -> nativeSum(h[0], java.util.Arrays.copyOfRange(h, 1, h.length)), objects));
    }

    /**
     * A trivial (NOT secure) encryption of a public constant under this key id, for mixing
     * constants into computations. Anyone can read its value.
     */
    public <T extends Ciphertext> T trivial(FheType<T> type, long value) {
        type.checkValue(value, "value");
        return type.wrap(withHandles(h -> nativeTrivial(h[0], type.code(), value), this));
    }

    private <T extends Ciphertext> T binary(int op, T a, T b) {
        @SuppressWarnings("unchecked")
        FheType<T> type = (FheType<T>) a.type();
        return type.wrap(withHandles(h -> nativeBinary(h[0], op, h[1], h[2]), this, a, b));
    }

    private <T extends FheUint<T>> T scalar(int op, T a, long scalar) {
        a.type().checkValue(scalar, "scalar");
        return a.type().wrap(withHandles(h -> nativeScalar(h[0], op, h[1], scalar), this, a));
    }

    private FheBool compare(int op, Ciphertext a, Ciphertext b) {
        return FheType.BOOL.wrap(withHandles(h -> nativeCompare(h[0], op, h[1], h[2]), this, a, b));
    }

    private FheBool compareScalar(int op, Ciphertext a, long scalar) {
        a.type().checkValue(scalar, "scalar");
        return FheType.BOOL.wrap(withHandles(h -> nativeCompareScalar(h[0], op, h[1], scalar), this, a));
    }

    static native void nativeDestroy(long handle);

    static native byte[] nativeKeyId(long handle);

    static native int nativeFeatures(long handle);

    static native byte[] nativeSerialize(long handle);

    static native long nativeDeserialize(byte[] bytes);

    static native long nativeBinary(long sk, int op, long a, long b);

    static native long nativeScalar(long sk, int op, long a, long scalar);

    static native long nativeCompare(long sk, int op, long a, long b);

    static native long nativeCompareScalar(long sk, int op, long a, long scalar);

    static native long nativeNot(long sk, long a);

    static native long nativeSelect(long sk, long cond, long a, long b);

    static native long nativeCast(long sk, long a, int kind);

    static native long nativeSum(long sk, long[] handles);

    static native long nativeTrivial(long sk, int kind, long value);
}
