package org.medvault.app.keys;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;

import org.medvault.common.UserException;

import org.junit.jupiter.api.Test;

class SecretKeyFileTest {
    private static final byte[] SECRET = "the secret key bytes, 0123456789".getBytes(StandardCharsets.UTF_8);
    private static final String ID = "ab".repeat(32);

    private static byte[] sealed() {
        return SecretKeyFile.seal("client-key", ID, SECRET, "right passphrase".toCharArray());
    }

    private static String text(byte[] b) {
        return new String(b, StandardCharsets.ISO_8859_1);
    }

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.ISO_8859_1);
    }

    @Test
    void roundTripAndFreshRandomness() {
        byte[] a = sealed();
        byte[] b = sealed();
        assertArrayEquals(SECRET, SecretKeyFile.open(a, "right passphrase".toCharArray(), "a"));
        assertFalse(java.util.Arrays.equals(a, b), "fresh salt and nonce each time");
        SecretKeyFile.Header h = SecretKeyFile.readHeader(a, "a");
        assertEquals("client-key", h.kind());
        assertEquals(ID, h.keyId());
        assertEquals(SecretKeyFile.MEMORY_KIB, h.kdf().memoryKiB());
        assertFalse(text(a).contains("0123456789"), "the secret is not stored in clear");
    }

    @Test
    void wrongPassphraseIsRefused() {
        UserException e = assertThrows(UserException.class,
                () -> SecretKeyFile.open(sealed(), "wrong passphrase".toCharArray(), "client.key"));
        assertTrue(e.getMessage().contains("wrong passphrase"), e.getMessage());
        assertTrue(e.getMessage().contains("client.key"), e.getMessage());
    }

    @Test
    void everyHeaderFieldIsAuthenticated() {
        String file = text(sealed());
        // Valid JSON edits that a naive format would accept: each must make decryption fail.
        String[][] edits = {
            {"\"kind\":\"client-key\"", "\"kind\":\"share-key\""},
            {"\"keyId\":\"ab", "\"keyId\":\"cd"},
            {"\"iterations\":3", "\"iterations\":4"},
            {"\"memoryKiB\":65536", "\"memoryKiB\":65537"},
        };
        for (String[] edit : edits) {
            assertTrue(file.contains(edit[0]), edit[0]);
            byte[] tampered = bytes(file.replace(edit[0], edit[1]));
            UserException e = assertThrows(UserException.class,
                    () -> SecretKeyFile.open(tampered, "right passphrase".toCharArray(), "k"), edit[1]);
            assertTrue(e.getMessage().contains("modified"), e.getMessage());
        }
    }

    @Test
    void ciphertextTamperingAndTruncationAreRefused() {
        byte[] f = sealed();
        byte[] flipped = f.clone();
        flipped[f.length - 20] ^= 1;
        assertThrows(UserException.class, () -> SecretKeyFile.open(flipped, "right passphrase".toCharArray(), "k"));
        byte[] cut = java.util.Arrays.copyOf(f, f.length - 5);
        assertThrows(UserException.class, () -> SecretKeyFile.open(cut, "right passphrase".toCharArray(), "k"));
        String header = text(f).substring(0, text(f).indexOf('\n', SecretKeyFile.MAGIC.length()) + 1);
        UserException e = assertThrows(UserException.class,
                () -> SecretKeyFile.open(bytes(header), "right passphrase".toCharArray(), "k"));
        assertTrue(e.getMessage().contains("truncated"), e.getMessage());
    }

    @Test
    void malformedHeadersGiveClearErrors() {
        String file = text(sealed());
        assertTrue(assertThrows(UserException.class, () -> SecretKeyFile.readHeader(bytes("hello"), "k"))
                .getMessage().contains("not a MedVault secret key file"));
        assertTrue(assertThrows(UserException.class,
                () -> SecretKeyFile.readHeader(bytes(file.replace("\"kdf\":{", "\"kdf\":[")), "k"))
                .getMessage().contains("corrupt"));
        // A crafted header may not demand absurd KDF cost (memory exhaustion).
        for (String greedy : new String[] {file.replace("\"memoryKiB\":65536", "\"memoryKiB\":4194304"),
                file.replace("\"iterations\":3", "\"iterations\":64"), file.replace("\"parallelism\":4", "\"parallelism\":64")}) {
            assertTrue(assertThrows(UserException.class, () -> SecretKeyFile.readHeader(bytes(greedy), "k"))
                    .getMessage().contains("out of bounds"), greedy);
        }
        assertThrows(UserException.class, () -> SecretKeyFile.seal("client-key", ID, SECRET, new char[0]));
    }

    @Test
    void unicodePassphrasesAreNormalised() {
        // "é" as one code point (NFC) and as e + combining accent (NFD) unlock the same file.
        byte[] f = SecretKeyFile.seal("client-key", ID, SECRET, "caf\u00e9 au lait".toCharArray());
        assertArrayEquals(SECRET, SecretKeyFile.open(f, "cafe\u0301 au lait".toCharArray(), "k"));
    }
}
