package org.medvault.fhe;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;

import org.junit.jupiter.api.Test;

/** Misuse must give a MedVaultException with the right code, and the JVM keeps working after it. */
class SafetyTest {
    private final ClientKey ck = TestKeys.client();
    private final ServerKey sk = TestKeys.server();

    private static MedVaultException expect(MedVaultException.Code code, Runnable r) {
        MedVaultException e = assertThrows(MedVaultException.class, r::run);
        assertEquals(code, e.code(), e.getMessage());
        return e;
    }

    /** After any failure, the binding still computes correctly. */
    private void assertStillWorks() {
        try (FheUint8 a = FheUint8.encrypt(ck, 41); FheUint8 r = sk.add(a, 1)) {
            assertEquals(42, ck.decrypt(r));
        }
    }

    @Test
    void closedHandlesAreRefused() {
        FheUint8 a = FheUint8.encrypt(ck, 5);
        a.close();
        a.close(); // closing twice is harmless
        assertTrue(a.isClosed());
        MedVaultException e = expect(MedVaultException.Code.INVALID_INPUT, () -> ck.decrypt(a));
        assertTrue(e.getMessage().contains("closed"), e.getMessage());
        expect(MedVaultException.Code.INVALID_INPUT, () -> sk.add(a, a));
        expect(MedVaultException.Code.INVALID_INPUT, a::serialize);
        ClientKey other = ClientKey.generate(FheConfig.defaults());
        other.close();
        expect(MedVaultException.Code.INVALID_INPUT, () -> FheUint8.encrypt(other, 1));
        assertStillWorks();
    }

    @Test
    void ciphertextOfAnotherKeyIsRefused() {
        try (ClientKey other = ClientKey.generate(FheConfig.defaults()); FheUint8 foreign = FheUint8.encrypt(other, 9);
             FheUint8 mine = FheUint8.encrypt(ck, 9)) {
            assertNotEquals(ck.keyId(), other.keyId());
            MedVaultException e = expect(MedVaultException.Code.KEY_MISMATCH, () -> sk.add(mine, foreign));
            assertTrue(e.getMessage().contains(other.keyId()), e.getMessage());
            expect(MedVaultException.Code.KEY_MISMATCH, () -> sk.gt(foreign, 3));
            expect(MedVaultException.Code.KEY_MISMATCH, () -> ck.decrypt(foreign));
            expect(MedVaultException.Code.KEY_MISMATCH, () -> other.decrypt(mine));
            // Also after a round trip through bytes: the key id travels with the ciphertext.
            try (FheUint8 reloaded = FheUint8.deserialize(foreign.serialize())) {
                expect(MedVaultException.Code.KEY_MISMATCH, () -> sk.mul(reloaded, 2));
            }
        }
        assertStillWorks();
    }

    @Test
    void valuesOutOfRangeAreRefused() {
        expect(MedVaultException.Code.INVALID_INPUT, () -> FheUint8.encrypt(ck, 256));
        expect(MedVaultException.Code.INVALID_INPUT, () -> FheUint16.encrypt(ck, -1));
        expect(MedVaultException.Code.INVALID_INPUT, () -> ck.encrypt(FheType.BOOL, 2));
        try (FheUint8 a = FheUint8.encrypt(ck, 1)) {
            expect(MedVaultException.Code.INVALID_INPUT, () -> sk.add(a, 300));
            expect(MedVaultException.Code.INVALID_INPUT, () -> sk.gt(a, 1000));
        }
        expect(MedVaultException.Code.INVALID_INPUT, () -> TestKeys.publicKey().listBuilder().push(FheType.UINT8, 999));
        expect(MedVaultException.Code.INVALID_INPUT, () -> sk.sum(List.<FheUint8>of()));
        assertStillWorks();
    }

    @Test
    void nativeValidationBacksTheJavaChecks() {
        // The Java API prevents these; call the natives directly to prove Rust checks too.
        expect(MedVaultException.Code.INVALID_INPUT, () -> ClientKey.nativeEncrypt(0L, 1, 1));
        try (FheUint8 a = FheUint8.encrypt(ck, 1); FheUint16 b = FheUint16.encrypt(ck, 1)) {
            long skh = sk.acquire();
            long ah = a.acquire();
            long bh = b.acquire();
            try {
                expect(MedVaultException.Code.INVALID_INPUT, () -> ServerKey.nativeBinary(skh, 0, ah, bh));
                expect(MedVaultException.Code.INVALID_INPUT, () -> ServerKey.nativeScalar(skh, 0, ah, 256));
                expect(MedVaultException.Code.INVALID_INPUT, () -> ServerKey.nativeBinary(skh, 99, ah, ah));
                expect(MedVaultException.Code.INVALID_INPUT, () -> ServerKey.nativeSelect(skh, ah, ah, ah));
                expect(MedVaultException.Code.INVALID_INPUT, () -> ServerKey.nativeCast(skh, ah, 17));
                expect(MedVaultException.Code.INVALID_INPUT, () -> ServerKey.nativeSum(skh, new long[] {ah, bh}));
            } finally {
                b.release();
                a.release();
                sk.release();
            }
        }
        assertStillWorks();
    }

    @Test
    void unsupportedOperationsSaySo() {
        try (FheBool a = FheBool.encrypt(ck, true)) {
            long skh = sk.acquire();
            long ah = a.acquire();
            try {
                expect(MedVaultException.Code.UNSUPPORTED, () -> ServerKey.nativeBinary(skh, 0, ah, ah)); // bool + bool
                expect(MedVaultException.Code.UNSUPPORTED, () -> ServerKey.nativeSum(skh, new long[] {ah}));
                expect(MedVaultException.Code.UNSUPPORTED, () -> ServerKey.nativeCompare(skh, 2, ah, ah)); // bool < bool
            } finally {
                a.release();
                sk.release();
            }
        }
    }

    @Test
    void aPanicInNativeCodeBecomesAnException() {
        for (int i = 0; i < 3; i++) {
            MedVaultException e = expect(MedVaultException.Code.INTERNAL, FheRuntime::panicForTest);
            assertTrue(e.getMessage().contains("deliberate test panic 42"), e.getMessage());
        }
        assertStillWorks();
    }

    @Test
    void threadCountIsFixedOnceThePoolRuns() {
        int n = FheRuntime.threads();
        assertTrue(n >= 1);
        FheRuntime.setThreads(n); // the size in force is accepted
        expect(MedVaultException.Code.UNSUPPORTED, () -> FheRuntime.setThreads(n + 1));
        expect(MedVaultException.Code.INVALID_INPUT, () -> FheRuntime.setThreads(0));
        assertStillWorks();
    }

    @Test
    void threadCountIsConfigurablePerProcess() throws Exception {
        // A fresh JVM with MEDVAULT_THREADS=1 computes with a one-thread pool.
        ProcessBuilder pb = new ProcessBuilder(
                java.nio.file.Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("java.class.path"), ThreadProbe.class.getName());
        pb.environment().put("MEDVAULT_THREADS", "1");
        pb.redirectErrorStream(true);
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        assertEquals(0, p.waitFor(), out);
        assertEquals("threads=1 result=42", out.strip());
    }

    /** Child process of {@link #threadCountIsConfigurablePerProcess}. */
    static final class ThreadProbe {
        public static void main(String[] args) {
            try (ClientKey k = ClientKey.generate(FheConfig.defaults());
                 FheUint8 a = FheUint8.encrypt(k, 40); FheUint8 b = FheUint8.encrypt(k, 2)) {
                // Decrypting a sum needs no server key: add in the clear after decryption here,
                // the point is the pool size and a working native call in the child.
                System.out.println("threads=" + FheRuntime.threads() + " result=" + (k.decrypt(a) + k.decrypt(b)));
            }
        }
    }

    @Test
    void exceptionCodesParseFromNativeMessages() {
        assertEquals(MedVaultException.Code.KEY_MISMATCH, new MedVaultException("KEY_MISMATCH:x").code());
        assertEquals("x: y", new MedVaultException("CORRUPT_DATA:x: y").getMessage());
        assertEquals(MedVaultException.Code.INTERNAL, new MedVaultException("no code here").code());
        assertEquals("no code here", new MedVaultException("no code here").getMessage());
    }
}
