package org.medvault.fhe;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;

import org.junit.jupiter.api.Test;

/** Round trips of every type through TFHE-rs safe serialization, and refusal of bad bytes. */
class SerializationTest {
    private final ClientKey ck = TestKeys.client();
    private final ServerKey sk = TestKeys.server();

    private static void assertCode(MedVaultException.Code code, Runnable r, String what) {
        MedVaultException e = assertThrows(MedVaultException.class, r::run, what);
        assertEquals(code, e.code(), what + ": " + e.getMessage());
        assertTrue(e.getMessage() != null && !e.getMessage().isBlank(), what + " has a message");
    }

    @Test
    void everyCiphertextTypeRoundTrips() {
        for (FheType<?> type : FheType.all()) {
            long value = type == FheType.BOOL ? 1 : type.maxValue() - 2;
            try (Ciphertext c = ck.encrypt(type, value)) {
                byte[] bytes = c.serialize();
                try (Ciphertext back = Ciphertext.deserialize(type, bytes)) {
                    long got = ck.decryptValue(back);
                    assertEquals(Long.toUnsignedString(value), Long.toUnsignedString(got), type.name());
                    assertEquals(c.keyId(), back.keyId());
                    assertArrayEquals(bytes, back.serialize(), type + " serializes to the same bytes");
                }
            }
        }
    }

    @Test
    void computedCiphertextRoundTripsAndStillComputes() {
        try (FheUint16 a = FheUint16.encrypt(ck, 40000); FheUint16 b = FheUint16.encrypt(ck, 30000);
             FheUint16 s = sk.add(a, b); FheUint16 back = FheUint16.deserialize(s.serialize());
             FheUint16 again = sk.add(back, a)) {
            assertEquals((40000 + 30000) & 0xFFFF, ck.decrypt(back));
            assertEquals((40000 + 30000 + 40000) & 0xFFFF, ck.decrypt(again));
        }
    }

    @Test
    void keysRoundTrip() {
        byte[] ckBytes = ck.serialize();
        try (ClientKey ck2 = ClientKey.deserialize(ckBytes); FheUint8 x = FheUint8.encrypt(ck2, 77)) {
            assertEquals(ck.keyId(), ck2.keyId());
            assertEquals(77, ck.decrypt(x), "a reloaded client key encrypts for the same key");
        } finally {
            Arrays.fill(ckBytes, (byte) 0);
        }
        try (CompactPublicKey pk2 = CompactPublicKey.deserialize(TestKeys.publicKey().serialize())) {
            assertEquals(ck.keyId(), pk2.keyId());
        }
        byte[] compressed = TestKeys.compressedServer().serialize();
        try (CompressedServerKey c2 = CompressedServerKey.deserialize(compressed)) {
            assertEquals(ck.keyId(), c2.keyId());
            assertEquals(FheConfig.defaults(), c2.config());
        }
        try (ServerKey sk2 = ServerKey.deserialize(sk.serialize());
             FheUint8 a = FheUint8.encrypt(ck, 250); FheUint8 r = sk2.add(a, 10)) {
            assertEquals(ck.keyId(), sk2.keyId());
            assertEquals(4, ck.decrypt(r), "a reloaded server key computes");
        }
    }

    @Test
    void corruptedAndTruncatedBytesAreRefused() {
        byte[] good;
        try (FheUint32 c = FheUint32.encrypt(ck, 123456)) {
            good = c.serialize();
        }
        assertCode(MedVaultException.Code.CORRUPT_DATA,
                () -> FheUint32.deserialize(Arrays.copyOf(good, good.length / 2)).close(), "truncated ciphertext");
        assertCode(MedVaultException.Code.CORRUPT_DATA,
                () -> FheUint32.deserialize(new byte[0]).close(), "empty bytes");
        byte[] header = good.clone();
        header[3] ^= 0x5a; // inside the safe-serialization header
        assertCode(MedVaultException.Code.CORRUPT_DATA, () -> FheUint32.deserialize(header).close(), "corrupt header");
        byte[] garbage = new byte[4096];
        new java.util.Random(7).nextBytes(garbage);
        assertCode(MedVaultException.Code.CORRUPT_DATA, () -> FheUint32.deserialize(garbage).close(), "random bytes");
        assertCode(MedVaultException.Code.CORRUPT_DATA, () -> ClientKey.deserialize(garbage).close(), "random client key");
        assertCode(MedVaultException.Code.CORRUPT_DATA, () -> ServerKey.deserialize(garbage).close(), "random server key");
        assertCode(MedVaultException.Code.CORRUPT_DATA,
                () -> CompactPublicKey.deserialize(garbage).close(), "random public key");
        assertCode(MedVaultException.Code.CORRUPT_DATA,
                () -> CompactCiphertextList.deserialize(garbage).close(), "random compact list");
        byte[] pk = TestKeys.publicKey().serialize();
        assertCode(MedVaultException.Code.CORRUPT_DATA,
                () -> CompactPublicKey.deserialize(Arrays.copyOf(pk, pk.length - 100)).close(), "truncated public key");
        assertCode(MedVaultException.Code.INVALID_INPUT, () -> FheUint8.deserialize(null).close(), "null bytes");
    }

    @Test
    void bytesOfAnotherTypeAreRefused() {
        byte[] u16;
        try (FheUint16 c = FheUint16.encrypt(ck, 7)) {
            u16 = c.serialize();
        }
        // Same tfhe type family, other width: refused by the parameter conformance check.
        assertCode(MedVaultException.Code.KEY_MISMATCH, () -> FheUint8.deserialize(u16).close(), "u16 read as u8");
        // Another kind of object altogether.
        assertCode(MedVaultException.Code.CORRUPT_DATA, () -> FheBool.deserialize(u16).close(), "u16 read as bool");
        assertCode(MedVaultException.Code.CORRUPT_DATA, () -> ClientKey.deserialize(u16).close(), "u16 read as client key");
        byte[] pk = TestKeys.publicKey().serialize();
        assertCode(MedVaultException.Code.CORRUPT_DATA, () -> ServerKey.deserialize(pk).close(), "public key as server key");
        assertCode(MedVaultException.Code.CORRUPT_DATA,
                () -> CompressedServerKey.deserialize(pk).close(), "public key as compressed server key");
    }

    @Test
    void foreignParametersAreRefused() {
        byte[] foreign = FheRuntime.foreignParameterCiphertextForTest();
        MedVaultException e = assertThrows(MedVaultException.class, () -> FheUint8.deserialize(foreign).close());
        assertEquals(MedVaultException.Code.KEY_MISMATCH, e.code(), e.getMessage());
        assertTrue(e.getMessage().contains(FheConfig.PARAMETER_SET), e.getMessage());
    }

    @Test
    void keyIdIsTheHashOfTheOriginalPublicKey() {
        byte[] pk = TestKeys.publicKey().serialize();
        try (CompactPublicKey original = CompactPublicKey.deserialize(pk)) {
            assertTrue(original.isOriginal(), "the generation-time public key hashes to the key id");
        }
        // Tampering with the stored key id is detected by the same check.
        byte[] id = hexToBytes(TestKeys.publicKey().keyId());
        int at = indexOf(pk, id);
        assertTrue(at >= 0, "the key id is embedded in the serialized key");
        pk[at] ^= 1;
        try (CompactPublicKey tampered = CompactPublicKey.deserialize(pk)) {
            assertTrue(!tampered.isOriginal(), "a changed key id no longer matches the contents");
        }
        // A client key reloaded from bytes derives a fresh, equally valid public key.
        try (ClientKey reloaded = ClientKey.deserialize(ck.serialize());
             CompactPublicKey derived = reloaded.compactPublicKey();
             CompactCiphertextList list = derived.listBuilder().push(FheType.UINT8, 99).build()) {
            assertEquals(ck.keyId(), derived.keyId());
            assertTrue(!derived.isOriginal());
            java.util.List<Ciphertext> cts = list.expand();
            assertEquals(99, ck.decrypt((FheUint8) cts.get(0)));
            cts.forEach(Ciphertext::close);
        }
    }

    static byte[] hexToBytes(String hex) {
        byte[] out = new byte[hex.length() / 2];
        for (int i = 0; i < out.length; i++) {
            out[i] = (byte) Integer.parseInt(hex.substring(2 * i, 2 * i + 2), 16);
        }
        return out;
    }

    static int indexOf(byte[] hay, byte[] needle) {
        outer:
        for (int i = 0; i + needle.length <= hay.length; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (hay[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return i;
        }
        return -1;
    }
}
