package org.medvault.fhe;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;

/** Threshold release through the Java binding, on real keys with noise squashing. */
class ThresholdTest {
    @Test
    void threeOfFiveReleaseAComputedResult() {
        try (ClientKey ck = ClientKey.generate(FheConfig.defaults().withNoiseSquashing(true));
             CompressedServerKey csk = ck.compressedServerKey(); ServerKey sk = csk.decompress();
             FheUint16 a = FheUint16.encrypt(ck, 40_000); FheUint16 b = FheUint16.encrypt(ck, 2_345);
             FheUint16 sum = sk.add(a, b); FheUint8 c = FheUint8.encrypt(ck, 250); FheUint8 d = sk.sub(c, 7);
             FheUint32 e = FheUint32.encrypt(ck, 4_000_000_000L); FheUint32 f = sk.add(e, 123_456_789L);
             FheUint64 g = FheUint64.encrypt(ck, 0xFEDC_BA98_7654_3210L); FheUint64 h = sk.sub(g, 0x10L)) {
            List<byte[]> shares = Threshold.deal(ck, 5, 3);
            assertEquals(5, shares.size());
            // Every width, each after real homomorphic computation (the 32-bit sum wraps).
            List<byte[]> squashed = List.of(Threshold.squash(sk, sum), Threshold.squash(sk, d), Threshold.squash(sk, f),
                    Threshold.squash(sk, h));
            long[] expected = {42_345, 243, (4_000_000_000L + 123_456_789L) & 0xFFFF_FFFFL, 0xFEDC_BA98_7654_3200L};
            String keyId = ck.keyId();
            int[] bits = {16, 8, 32, 64};
            for (int[] signers : new int[][] {{1, 2, 3}, {5, 3, 1}, {2, 4, 5}}) {
                List<byte[]> partials = new ArrayList<>();
                for (int i : signers) {
                    partials.add(Threshold.partial(shares.get(i - 1), signers, keyId, squashed, bits));
                }
                assertArrayEquals(expected, Threshold.combine(squashed, bits, partials));
                // Repeating a request gives byte-identical output.
                assertArrayEquals(partials.get(0), Threshold.partial(shares.get(signers[0] - 1), signers, keyId, squashed, bits));
            }
            int[] set = {1, 2, 3};
            byte[] p1 = Threshold.partial(shares.get(0), set, keyId, squashed, bits);
            byte[] p2 = Threshold.partial(shares.get(1), set, keyId, squashed, bits);
            byte[] p3 = Threshold.partial(shares.get(2), set, keyId, squashed, bits);
            MedVaultException few = assertThrows(MedVaultException.class, () -> Threshold.combine(squashed, bits, List.of(p1, p2)));
            assertEquals(MedVaultException.Code.INVALID_INPUT, few.code(), few.getMessage());
            assertThrows(MedVaultException.class, () -> Threshold.combine(squashed, bits, List.of(p1, p1, p3)));
            byte[] otherSet = Threshold.partial(shares.get(3), new int[] {1, 2, 4}, keyId, squashed, bits);
            assertEquals(MedVaultException.Code.KEY_MISMATCH,
                    assertThrows(MedVaultException.class, () -> Threshold.combine(squashed, bits, List.of(p1, p2, otherSet))).code());
            // Ciphertexts are checked before any arithmetic: another key id, or another width, is refused.
            assertEquals(MedVaultException.Code.KEY_MISMATCH, assertThrows(MedVaultException.class,
                    () -> Threshold.partial(shares.get(2), set, "ab".repeat(32), squashed, bits)).code());
            assertEquals(MedVaultException.Code.KEY_MISMATCH, assertThrows(MedVaultException.class,
                    () -> Threshold.partial(shares.get(2), set, keyId, squashed, new int[] {8, 8, 32, 64})).code());
            assertEquals(MedVaultException.Code.KEY_MISMATCH, assertThrows(MedVaultException.class,
                    () -> Threshold.combine(squashed, new int[] {16, 8, 32, 32}, List.of(p1, p2, p3))).code());
            assertThrows(MedVaultException.class, () -> Threshold.partial(shares.get(3), set, keyId, squashed, bits), "4 is not a signer");
            assertThrows(MedVaultException.class, () -> Threshold.deal(ck, 11, 3));
            byte[] corrupt = shares.get(0).clone();
            corrupt[0] ^= 1;
            assertEquals(MedVaultException.Code.CORRUPT_DATA,
                    assertThrows(MedVaultException.class, () -> Threshold.partial(corrupt, set, keyId, squashed, bits)).code());
        }
    }

    @Test
    void keysWithoutNoiseSquashingCannotBeDealt() {
        try (ClientKey ck = ClientKey.generate(FheConfig.defaults())) {
            assertEquals(MedVaultException.Code.UNSUPPORTED,
                    assertThrows(MedVaultException.class, () -> Threshold.deal(ck, 3, 2)).code());
        }
    }
}
