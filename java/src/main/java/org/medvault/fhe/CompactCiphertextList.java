package org.medvault.fhe;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Values encrypted together with a {@link CompactPublicKey}: the storage form of public-key
 * encryption. The list is not packed, so {@link #expand()} needs no server key and no bootstrap.
 */
public final class CompactCiphertextList extends NativeObject {
    CompactCiphertextList(long handle) {
        super(handle, CompactCiphertextList::nativeDestroy);
    }

    @Override
    String describe() {
        return "compact ciphertext list";
    }

    /** Collects clear values, then encrypts them all in one native call. */
    public static final class Builder {
        private final CompactPublicKey key;
        private int[] kinds = new int[16];
        private long[] values = new long[16];
        private int size;

        Builder(CompactPublicKey key) {
            this.key = key;
        }

        public Builder push(FheType<?> type, long value) {
            type.checkValue(value, "value #" + size);
            if (size == kinds.length) {
                kinds = Arrays.copyOf(kinds, size * 2);
                values = Arrays.copyOf(values, size * 2);
            }
            kinds[size] = type.code();
            values[size] = value;
            size++;
            return this;
        }

        public Builder push(boolean value) {
            return push(FheType.BOOL, value ? 1 : 0);
        }

        public int size() {
            return size;
        }

        public CompactCiphertextList build() {
            return new CompactCiphertextList(key.encryptList(Arrays.copyOf(kinds, size), Arrays.copyOf(values, size)));
        }
    }

    public static CompactCiphertextList deserialize(byte[] bytes) {
        NativeLibrary.load();
        if (bytes == null) {
            throw new MedVaultException(MedVaultException.Code.INVALID_INPUT, "no bytes to load a compact list from");
        }
        return new CompactCiphertextList(nativeDeserialize(bytes));
    }

    public byte[] serialize() {
        return withHandles(h -> nativeSerialize(h[0]), this);
    }

    public String keyId() {
        return withHandles(h -> hex(nativeKeyId(h[0])), this);
    }

    /** The type of each element, in order. */
    public List<FheType<?>> types() {
        int[] codes = withHandles(h -> nativeKinds(h[0]), this);
        List<FheType<?>> out = new ArrayList<>(codes.length);
        for (int c : codes) {
            out.add(FheType.ofCode(c));
        }
        return out;
    }

    public int size() {
        return types().size();
    }

    /** Every element as a standalone ciphertext (the caller closes them). */
    public List<Ciphertext> expand() {
        return withHandles(h -> {
            int[] codes = nativeKinds(h[0]);
            long[] handles = nativeExpand(h[0]);
            List<Ciphertext> out = new ArrayList<>(handles.length);
            for (int i = 0; i < handles.length; i++) {
                out.add(FheType.ofCode(codes[i]).wrap(handles[i]));
            }
            return out;
        }, this);
    }

    static native void nativeDestroy(long handle);

    static native byte[] nativeKeyId(long handle);

    static native int[] nativeKinds(long handle);

    static native byte[] nativeSerialize(long handle);

    static native long nativeDeserialize(byte[] bytes);

    static native long[] nativeExpand(long handle);
}
