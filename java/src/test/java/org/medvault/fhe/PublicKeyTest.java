package org.medvault.fhe;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Random;

import org.junit.jupiter.api.Test;

/** Public-key batch encryption into compact lists: no secret involved, one native call per batch. */
class PublicKeyTest {
    private final ClientKey ck = TestKeys.client();
    private final ServerKey sk = TestKeys.server();
    private final CompactPublicKey pk = TestKeys.publicKey();

    private long decrypt(Ciphertext c) {
        return ck.decryptValue(c);
    }

    @Test
    void mixedBatchRoundTripsThroughBytes() {
        Random rnd = new Random(42);
        CompactCiphertextList.Builder b = pk.listBuilder();
        List<FheType<?>> types = FheType.all();
        int n = 60;
        long[] values = new long[n];
        FheType<?>[] expectedTypes = new FheType<?>[n];
        for (int i = 0; i < n; i++) {
            FheType<?> t = types.get(i % types.size());
            long v = i < types.size() * 2 ? (i < types.size() ? 0 : t.maxValue()) : rnd.nextLong() & t.maxValue();
            values[i] = v;
            expectedTypes[i] = t;
            b.push(t, v);
        }
        byte[] bytes;
        try (CompactCiphertextList list = b.build()) {
            assertEquals(pk.keyId(), list.keyId());
            assertEquals(n, list.size());
            bytes = list.serialize();
        }
        try (CompactCiphertextList list = CompactCiphertextList.deserialize(bytes)) {
            assertEquals(List.of(expectedTypes), list.types());
            List<Ciphertext> cts = list.expand();
            try {
                for (int i = 0; i < n; i++) {
                    assertEquals(expectedTypes[i], cts.get(i).type(), "element " + i);
                    assertEquals(Long.toUnsignedString(values[i]), Long.toUnsignedString(decrypt(cts.get(i))),
                            "element " + i + " (" + expectedTypes[i] + ")");
                    assertEquals(ck.keyId(), cts.get(i).keyId());
                }
                // Expanded values compute like any other ciphertext.
                try (FheUint16 sum = sk.add((FheUint16) cts.get(2), (FheUint16) cts.get(7))) {
                    assertEquals((values[2] + values[7]) & 0xFFFF, ck.decrypt(sum));
                }
            } finally {
                cts.forEach(Ciphertext::close);
            }
        }
    }

    @Test
    void batchesShareOneMask() {
        // A list of one 16-bit value carries a whole ~16 KB mask; a batch of 500 shares it.
        int one;
        int many;
        try (CompactCiphertextList l = pk.listBuilder().push(FheType.UINT16, 1).build()) {
            one = l.serialize().length;
        }
        CompactCiphertextList.Builder b = pk.listBuilder();
        for (int i = 0; i < 500; i++) {
            b.push(FheType.UINT16, i);
        }
        try (CompactCiphertextList l = b.build()) {
            many = l.serialize().length;
        }
        assertTrue(one > 16_000, "a single value costs a whole mask: " + one + " B");
        double perValue = (double) many / 500;
        assertTrue(perValue < 150, "batched 16-bit values cost " + perValue + " B each (target <= 150 B)");
    }

    @Test
    void emptyListIsAllowed() {
        try (CompactCiphertextList l = pk.listBuilder().build()) {
            assertEquals(0, l.size());
            assertTrue(l.expand().isEmpty());
        }
    }
}
