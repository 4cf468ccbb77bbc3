package org.medvault.fhe;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.ArrayList;
import java.util.List;
import java.util.function.BiFunction;
import java.util.function.LongBinaryOperator;

import org.junit.jupiter.api.Test;

/**
 * Every operation against the clear result, on boundary values of every width: 0, 1, the
 * maximum, and pairs that overflow or underflow (results wrap modulo 2^width).
 */
class OperationsTest {
    private final ClientKey ck = TestKeys.client();
    private final ServerKey sk = TestKeys.server();

    /** Clear semantics of each width: unsigned arithmetic modulo 2^bits. */
    private static long wrap(FheType<?> type, long v) {
        return type.bits() == 64 ? v : v & type.maxValue();
    }

    /**
     * Operand pairs per operation. 32- and 64-bit operations cost tens of seconds each (a 64-bit
     * multiplication is ~500 bootstraps), so the default run checks every operation at every width
     * on the two pairs that exercise wrap-around and carries; {@code scripts/test --long} checks all five.
     */
    private static <T extends FheUint<T>> long[][] pairs(FheType<T> type) {
        long max = type.maxValue();
        long[][] all = {{0, 1}, {1, 0}, {max, 1}, {max, max}, {max - 1, 3}};
        boolean longRun = "1".equals(System.getenv("MEDVAULT_LONG_TESTS"));
        return type.bits() <= 16 || longRun ? all : new long[][] {{max, max}, {max - 1, 3}};
    }

    private <T extends FheUint<T>> void checkBinary(FheType<T> type, String name, BiFunction<T, T, T> op,
                                                    LongBinaryOperator clear) {
        for (long[] p : pairs(type)) {
            try (T a = ck.encrypt(type, p[0]); T b = ck.encrypt(type, p[1]); T r = op.apply(a, b)) {
                long expected = wrap(type, clear.applyAsLong(p[0], p[1]));
                assertEquals(Long.toUnsignedString(expected), Long.toUnsignedString(ck.decrypt(r)),
                        type + " " + Long.toUnsignedString(p[0]) + " " + name + " " + Long.toUnsignedString(p[1]));
            }
        }
    }

    private <T extends FheUint<T>> void checkCompare(FheType<T> type, String name, BiFunction<T, T, FheBool> op,
                                                     BiFunction<Long, Long, Boolean> clear) {
        for (long[] p : pairs(type)) {
            try (T a = ck.encrypt(type, p[0]); T b = ck.encrypt(type, p[1]); FheBool r = op.apply(a, b)) {
                assertEquals(clear.apply(p[0], p[1]), ck.decrypt(r),
                        type + " " + Long.toUnsignedString(p[0]) + " " + name + " " + Long.toUnsignedString(p[1]));
            }
        }
    }

    private <T extends FheUint<T>> void checkAllBinary(FheType<T> type) {
        checkBinary(type, "+", sk::add, Long::sum);
        checkBinary(type, "-", sk::sub, (a, b) -> a - b);
        checkBinary(type, "*", sk::mul, (a, b) -> a * b);
        checkBinary(type, "min", sk::min, (a, b) -> Long.compareUnsigned(a, b) <= 0 ? a : b);
        checkBinary(type, "max", sk::max, (a, b) -> Long.compareUnsigned(a, b) >= 0 ? a : b);
        checkBinary(type, "&", sk::bitAnd, (a, b) -> a & b);
        checkBinary(type, "|", sk::bitOr, (a, b) -> a | b);
        checkBinary(type, "^", sk::bitXor, (a, b) -> a ^ b);
        checkCompare(type, "==", sk::eq, Long::equals);
        checkCompare(type, "!=", (a, b) -> sk.ne(a, b), (a, b) -> !a.equals(b));
        checkCompare(type, "<", sk::lt, (a, b) -> Long.compareUnsigned(a, b) < 0);
        checkCompare(type, "<=", sk::le, (a, b) -> Long.compareUnsigned(a, b) <= 0);
        checkCompare(type, ">", sk::gt, (a, b) -> Long.compareUnsigned(a, b) > 0);
        checkCompare(type, ">=", sk::ge, (a, b) -> Long.compareUnsigned(a, b) >= 0);
    }

    private <T extends FheUint<T>> void checkScalars(FheType<T> type) {
        long max = type.maxValue();
        try (T a = ck.encrypt(type, max); T zero = ck.encrypt(type, 0)) {
            try (T r = sk.add(a, 1)) {
                assertEquals(0, ck.decrypt(r), type + " max + 1 wraps to 0");
            }
            try (T r = sk.sub(zero, 1)) {
                assertEquals(max, ck.decrypt(r), type + " 0 - 1 wraps to max");
            }
            try (T r = sk.mul(a, 2)) {
                assertEquals(wrap(type, max * 2), ck.decrypt(r), type + " max * 2");
            }
            try (T r = sk.min(a, 1)) {
                assertEquals(1, ck.decrypt(r), type + " min(max, 1)");
            }
            try (T r = sk.max(zero, max)) {
                assertEquals(max, ck.decrypt(r), type + " max(0, max)");
            }
            try (T r = sk.bitNot(zero)) {
                assertEquals(max, ck.decrypt(r), type + " ~0");
            }
            try (FheBool r = sk.ge(a, max)) {
                assertEquals(true, ck.decrypt(r), type + " max >= max");
            }
            try (FheBool r = sk.gt(a, max)) {
                assertEquals(false, ck.decrypt(r), type + " max > max");
            }
            try (FheBool r = sk.lt(zero, 1)) {
                assertEquals(true, ck.decrypt(r), type + " 0 < 1");
            }
            try (FheBool r = sk.le(a, 0)) {
                assertEquals(false, ck.decrypt(r), type + " max <= 0");
            }
            try (FheBool r = sk.eq(zero, 0); FheBool n = sk.ne(a, max)) {
                assertEquals(true, ck.decrypt(r), type + " 0 == 0");
                assertEquals(false, ck.decrypt(n), type + " max != max");
            }
        }
    }

    private <T extends FheUint<T>> void checkSelectAndSum(FheType<T> type) {
        long max = type.maxValue();
        try (T a = ck.encrypt(type, max); T b = ck.encrypt(type, 1);
             FheBool yes = FheBool.encrypt(ck, true); FheBool no = FheBool.encrypt(ck, false);
             T r1 = sk.select(yes, a, b); T r2 = sk.select(no, a, b)) {
            assertEquals(max, ck.decrypt(r1), type + " select(true)");
            assertEquals(1, ck.decrypt(r2), type + " select(false)");
        }
        List<T> terms = new ArrayList<>();
        long[] values = {max, 1, 2, max, 0};
        long clear = 0;
        for (long v : values) {
            terms.add(ck.encrypt(type, v));
            clear += v;
        }
        try (T s = sk.sum(terms)) {
            assertEquals(Long.toUnsignedString(wrap(type, clear)), Long.toUnsignedString(ck.decrypt(s)), type + " sum wraps");
        } finally {
            terms.forEach(Ciphertext::close);
        }
    }

    @Test
    void uint8AllOperations() {
        checkAllBinary(FheType.UINT8);
        checkScalars(FheType.UINT8);
        checkSelectAndSum(FheType.UINT8);
    }

    @Test
    void uint16AllOperations() {
        checkAllBinary(FheType.UINT16);
        checkScalars(FheType.UINT16);
        checkSelectAndSum(FheType.UINT16);
    }

    @Test
    void uint32AllOperations() {
        checkAllBinary(FheType.UINT32);
        checkScalars(FheType.UINT32);
        checkSelectAndSum(FheType.UINT32);
    }

    @Test
    void uint64AllOperations() {
        checkAllBinary(FheType.UINT64);
        checkScalars(FheType.UINT64);
        checkSelectAndSum(FheType.UINT64);
    }

    @Test
    void booleanLogic() {
        boolean[] values = {false, true};
        for (boolean x : values) {
            for (boolean y : values) {
                try (FheBool a = FheBool.encrypt(ck, x); FheBool b = FheBool.encrypt(ck, y);
                     FheBool and = sk.and(a, b); FheBool or = sk.or(a, b); FheBool xor = sk.xor(a, b);
                     FheBool not = sk.not(a); FheBool eq = sk.eq(a, b); FheBool sel = sk.select(a, b, not)) {
                    assertEquals(x && y, ck.decrypt(and), x + " and " + y);
                    assertEquals(x || y, ck.decrypt(or), x + " or " + y);
                    assertEquals(x ^ y, ck.decrypt(xor), x + " xor " + y);
                    assertEquals(!x, ck.decrypt(not), "not " + x);
                    assertEquals(x == y, ck.decrypt(eq), x + " == " + y);
                    assertEquals(x ? y : !x, ck.decrypt(sel), "select " + x);
                }
            }
        }
    }

    @Test
    void castsBetweenWidthsAndFromBool() {
        try (FheUint16 v = FheUint16.encrypt(ck, 0x1234);
             FheUint8 narrowed = sk.cast(v, FheType.UINT8);
             FheUint64 widened = sk.cast(v, FheType.UINT64);
             FheBool nonZero = sk.cast(v, FheType.BOOL);
             FheBool t = FheBool.encrypt(ck, true);
             FheUint32 one = sk.cast(t, FheType.UINT32);
             FheUint64 max = FheUint64.encrypt(ck, -1L);
             FheUint16 low = sk.cast(max, FheType.UINT16)) {
            assertEquals(0x34, ck.decrypt(narrowed), "narrowing truncates");
            assertEquals(0x1234, ck.decrypt(widened), "widening zero-extends");
            assertEquals(true, ck.decrypt(nonZero), "integer to bool is != 0");
            assertEquals(1, ck.decrypt(one), "true casts to 1");
            assertEquals(0xFFFF, ck.decrypt(low), "u64 max truncated to u16");
        }
    }

    @Test
    void trivialConstantsMixWithCiphertexts() {
        try (FheUint32 c = sk.trivial(FheType.UINT32, 1000); FheUint32 x = FheUint32.encrypt(ck, 234);
             FheUint32 r = sk.add(x, c)) {
            assertEquals(1234, ck.decrypt(r));
            assertEquals(ck.keyId(), c.keyId(), "a trivial value carries the server key's id");
        }
    }

    @Test
    void encryptDecryptExtremes() {
        for (FheType<?> type : FheType.all()) {
            long[] values = type == FheType.BOOL ? new long[] {0, 1} : new long[] {0, 1, type.maxValue()};
            for (long v : values) {
                try (Ciphertext c = ck.encrypt(type, v)) {
                    long back = ck.decryptValue(c);
                    assertEquals(Long.toUnsignedString(v), Long.toUnsignedString(back), type + " round trip");
                    assertEquals(type, c.type());
                }
            }
        }
    }
}
