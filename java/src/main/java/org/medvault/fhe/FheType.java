package org.medvault.fhe;

import java.util.List;
import java.util.function.LongFunction;

/**
 * The encrypted types MedVault supports, as typed constants: {@code sk.cast(x, FheType.UINT16)}
 * returns an {@link FheUint16}.
 *
 * @param <T> the Java class of ciphertexts of this type
 */
public final class FheType<T extends Ciphertext> {
    public static final FheType<FheBool> BOOL = new FheType<>("FheBool", 0, 1, FheBool::new);
    public static final FheType<FheUint8> UINT8 = new FheType<>("FheUint8", 1, 8, FheUint8::new);
    public static final FheType<FheUint16> UINT16 = new FheType<>("FheUint16", 2, 16, FheUint16::new);
    public static final FheType<FheUint32> UINT32 = new FheType<>("FheUint32", 3, 32, FheUint32::new);
    public static final FheType<FheUint64> UINT64 = new FheType<>("FheUint64", 4, 64, FheUint64::new);

    private static final List<FheType<?>> ALL = List.of(BOOL, UINT8, UINT16, UINT32, UINT64);

    private final String name;
    private final int code;
    private final int bits;
    private final LongFunction<T> wrap;

    private FheType(String name, int code, int bits, LongFunction<T> wrap) {
        this.name = name;
        this.code = code;
        this.bits = bits;
        this.wrap = wrap;
    }

    public static List<FheType<?>> all() {
        return ALL;
    }

    /** The smallest unsigned type that holds {@code maxValue} (treated as unsigned). */
    public static FheType<? extends FheUint<?>> smallestUintFor(long maxValue) {
        if (Long.compareUnsigned(maxValue, 0xFFL) <= 0) {
            return UINT8;
        }
        if (Long.compareUnsigned(maxValue, 0xFFFFL) <= 0) {
            return UINT16;
        }
        if (Long.compareUnsigned(maxValue, 0xFFFF_FFFFL) <= 0) {
            return UINT32;
        }
        return UINT64;
    }

    /** The type named {@code name} ("FheUint16"), if any. */
    public static java.util.Optional<FheType<?>> ofName(String name) {
        return ALL.stream().filter(t -> t.name.equals(name)).findFirst();
    }

    /** The unsigned integer type of exactly {@code bits} bits (8, 16, 32 or 64). */
    public static FheType<?> ofBits(int bits) {
        return ALL.stream().filter(t -> t.bits == bits && t != BOOL).findFirst()
                .orElseThrow(() -> new MedVaultException(MedVaultException.Code.INVALID_INPUT, "no " + bits + "-bit integer type"));
    }

    static FheType<?> ofCode(int code) {
        for (FheType<?> t : ALL) {
            if (t.code == code) {
                return t;
            }
        }
        throw new MedVaultException(MedVaultException.Code.INTERNAL, "unknown ciphertext type code " + code);
    }

    public String name() {
        return name;
    }

    /** Width in bits (1 for FheBool). */
    public int bits() {
        return bits;
    }

    /** Largest clear value of this type, as an unsigned long. */
    public long maxValue() {
        return bits == 64 ? -1L : (1L << bits) - 1;
    }

    int code() {
        return code;
    }

    T wrap(long handle) {
        return wrap.apply(handle);
    }

    /** Rejects a clear value this type cannot hold, before any native work. */
    void checkValue(long value, String what) {
        if (bits < 64 && Long.compareUnsigned(value, maxValue()) > 0) {
            throw new MedVaultException(MedVaultException.Code.INVALID_INPUT,
                    what + " " + Long.toUnsignedString(value) + " does not fit " + name + " (0.."
                            + Long.toUnsignedString(maxValue()) + ")");
        }
    }

    @Override
    public String toString() {
        return name;
    }
}
