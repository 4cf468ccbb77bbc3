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

    /** A count and a sum WHERE x >= 10 over one FheUint8 per record. */
    static final String COUNT_AND_SUM_PLAN = "{\"layout\":[1],\"predicate\":{\"op\":\"cmp\",\"cmp\":\"ge\",\"slot\":0,\"c\":10},"
            + "\"outputs\":[{\"kind\":\"count\",\"bits\":8},{\"kind\":\"sum\",\"slot\":0,\"bits\":16}],\"min_cohort\":1}";

    static byte[] chunkOf5And10And20And40() {
        try (CompactCiphertextList list = TestKeys.publicKey().listBuilder().push(FheType.UINT8, 5).push(FheType.UINT8, 10)
                .push(FheType.UINT8, 20).push(FheType.UINT8, 40).build()) {
            return list.serialize();
        }
    }

    @Test
    void threadsFeedingOneExecutorTakeTurns() throws Exception {
        // One chunk of 4 records (a FheUint8 each); a count and a sum WHERE x >= 10. Two threads feed
        // the same executor the same chunk at once, twice each: the executor serialises them, and the
        // outputs are those of four sequential feeds (16 records).
        String plan = COUNT_AND_SUM_PLAN;
        byte[] chunk = chunkOf5And10And20And40();
        ExecutorService pool = Executors.newFixedThreadPool(2);
        try (QueryExecutor ex = new QueryExecutor(plan)) {
            List<Future<?>> feeds = new ArrayList<>();
            for (int t = 0; t < 2; t++) {
                feeds.add(pool.submit(() -> {
                    ex.feed(sk, chunk, new int[] {0, 1, 2, 3});
                    ex.feed(sk, chunk, new int[] {0, 1, 2, 3});
                }));
            }
            for (Future<?> f : feeds) {
                f.get();
            }
            assertEquals(16, ex.records());
            List<Ciphertext> outs = ex.finish(sk);
            try {
                assertEquals(12, ck.decryptValue(outs.get(0)), "count");
                assertEquals(280, ck.decryptValue(outs.get(1)), "sum");
            } finally {
                outs.forEach(Ciphertext::close);
            }
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void partialResultsOfConsecutiveRunsMergeIntoTheOnePassOutputs() {
        // The same plan and chunk as above: one executor over three feeds, against two executors
        // over two feeds and one (the second started at chunk 2) whose partial results a third merges.
        String plan = COUNT_AND_SUM_PLAN;
        byte[] chunk = chunkOf5And10And20And40();
        int[] all = {0, 1, 2, 3};
        List<byte[]> onePass = new ArrayList<>();
        try (QueryExecutor ex = new QueryExecutor(plan, 2)) {
            for (int i = 0; i < 3; i++) {
                ex.feed(sk, chunk, all);
            }
            ex.finish(sk).forEach(c -> {
                onePass.add(c.serialize());
                c.close();
            });
        }
        byte[] first;
        byte[] second;
        try (QueryExecutor a = new QueryExecutor(plan, 2); QueryExecutor b = new QueryExecutor(plan, 2)) {
            a.feed(sk, chunk, all);
            a.feed(sk, chunk, all);
            b.beginAt(2);
            b.feed(sk, chunk, all);
            assertEquals(2, b.chunks()[0]);
            assertEquals(3, b.chunks()[1]);
            first = a.state();
            second = b.state();
        }
        try (QueryExecutor driver = new QueryExecutor(plan, 2)) {
            MedVaultException outOfOrder = org.junit.jupiter.api.Assertions.assertThrows(MedVaultException.class,
                    () -> driver.merge(sk, second));
            org.junit.jupiter.api.Assertions.assertTrue(outOfOrder.getMessage().contains("chunk order"), outOfOrder.getMessage());
            MedVaultException garbage = org.junit.jupiter.api.Assertions.assertThrows(MedVaultException.class,
                    () -> driver.merge(sk, new byte[] {1, 2, 3}));
            assertEquals(MedVaultException.Code.INVALID_INPUT, garbage.code());
            driver.merge(sk, first);
            driver.merge(sk, second);
            assertEquals(12, driver.records());
            List<Ciphertext> outs = driver.finish(sk);
            try {
                for (int i = 0; i < outs.size(); i++) {
                    org.junit.jupiter.api.Assertions.assertArrayEquals(onePass.get(i), outs.get(i).serialize(), "output " + i);
                }
                assertEquals(9, ck.decryptValue(outs.get(0)), "count");
                assertEquals(210, ck.decryptValue(outs.get(1)), "sum");
            } finally {
                outs.forEach(Ciphertext::close);
            }
        }
    }
}
