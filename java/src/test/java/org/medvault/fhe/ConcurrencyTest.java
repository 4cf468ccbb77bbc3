package org.medvault.fhe;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import org.junit.jupiter.api.Test;

/** The server key is a per-call context: many JVM threads compute at once with correct results. */
class ConcurrencyTest {
    private final ClientKey ck = TestKeys.client();
    private final ServerKey sk = TestKeys.server();

    @Test
    void manyThreadsComputeCorrectly() throws Exception {
        int threads = 8;
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        try {
            List<Future<long[]>> results = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                final int id = t;
                results.add(pool.submit(() -> {
                    long a = 10L * id + 3;
                    long b = 200 - id;
                    try (FheUint8 x = FheUint8.encrypt(ck, a); FheUint8 y = FheUint8.encrypt(ck, b);
                         FheUint8 sum = sk.add(x, y); FheUint8 prod = sk.mul(x, 3L);
                         FheBool lt = sk.lt(x, y); FheUint8 sel = sk.select(lt, x, y)) {
                        return new long[] {a, b, ck.decrypt(sum), ck.decrypt(prod), ck.decrypt(sel)};
                    }
                }));
            }
            for (Future<long[]> f : results) {
                long[] r = f.get();
                long a = r[0];
                long b = r[1];
                assertEquals((a + b) & 0xFF, r[2], "sum " + a + "+" + b);
                assertEquals((a * 3) & 0xFF, r[3], "product " + a + "*3");
                assertEquals(Math.min(a, b), r[4], "select min");
            }
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void closeWaitsForRunningOperations() throws Exception {
        // A ciphertext closed by one thread while another computes with it: the computation either
        // finishes correctly or the caller gets INVALID_INPUT; never a crash or a freed handle in use.
        ExecutorService pool = Executors.newFixedThreadPool(2);
        try {
            for (int round = 0; round < 3; round++) {
                FheUint16 x = FheUint16.encrypt(ck, 1000 + round);
                Future<Long> compute = pool.submit(() -> {
                    try (FheUint16 r = sk.mul(x, 2L)) {
                        return ck.decrypt(r);
                    } catch (MedVaultException e) {
                        assertEquals(MedVaultException.Code.INVALID_INPUT, e.code());
                        return -1L;
                    }
                });
                Future<?> close = pool.submit(x::close);
                close.get();
                long r = compute.get();
                if (r != -1L) {
                    assertEquals(2L * (1000 + round), r);
                }
            }
        } finally {
            pool.shutdownNow();
        }
    }
}
