package org.medvault.spark;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;

import org.apache.spark.SparkEnv;
import org.apache.spark.TaskContext;
import org.apache.spark.api.java.function.FlatMapFunction;
import org.apache.spark.broadcast.Broadcast;

import org.medvault.common.Digests;
import org.medvault.common.UserException;
import org.medvault.fhe.FheRuntime;
import org.medvault.fhe.QueryExecutor;
import org.medvault.fhe.ServerKey;

/**
 * The executor side: a partition's chunks, in their order, through the native executor. Each run
 * of consecutive chunks (a partition may hold several, e.g. Parquet files packed together) is
 * evaluated apart, started at its first chunk's index, and returned as a partial result; the
 * driver merges them in chunk order. Each chunk's digest is checked before it is used.
 */
final class PartitionEvaluator implements FlatMapFunction<Iterator<ChunkRow>, PartialResult> {
    /** Test hook: the first attempt of this partition fails after its first chunk (Spark retries it). */
    static final String FAIL_FIRST_ATTEMPT = "spark.medvault.test.failFirstAttemptOfPartition";

    /** How many failures this JVM injected (tests check that a retry really happened). */
    static final java.util.concurrent.atomic.AtomicInteger INJECTED = new java.util.concurrent.atomic.AtomicInteger();

    private final String planJson;
    private final String keySha256;
    private final String keyId;
    private final Broadcast<byte[]> key;
    private final int failPartition;

    PartitionEvaluator(String planJson, String keySha256, String keyId, Broadcast<byte[]> key, int failPartition) {
        this.planJson = planJson;
        this.keySha256 = keySha256;
        this.keyId = keyId;
        this.key = key;
        this.failPartition = failPartition;
    }

    @Override
    public Iterator<PartialResult> call(Iterator<ChunkRow> rows) {
        if (!rows.hasNext()) {
            return java.util.Collections.emptyIterator();
        }
        TaskContext task = TaskContext.get();
        SparkEnv env = SparkEnv.get();
        int cores = env == null ? Runtime.getRuntime().availableProcessors()
                : env.conf().getInt("spark.executor.cores", Runtime.getRuntime().availableProcessors());
        ExecutorKeys.sizeRuntime(cores);
        // One worker per CPU Spark gave this task: tasks side by side fill the executor's cores.
        int threads = task == null ? 1 : Math.max(1, task.cpus());
        ServerKey sk = ExecutorKeys.get(keySha256, keyId, key::value);
        boolean failHere = task != null && task.partitionId() == failPartition && task.attemptNumber() == 0;

        List<PartialResult> out = new ArrayList<>();
        QueryExecutor ex = null;
        long expected = -1;
        long pbs0 = 0;
        long t0 = 0;
        try {
            while (rows.hasNext()) {
                ChunkRow row = rows.next();
                if (ex != null && row.seq() != expected) {
                    out.add(close(ex, pbs0, t0));
                    ex = null;
                }
                if (ex == null) {
                    ex = new QueryExecutor(planJson, threads);
                    ex.beginAt(row.seq());
                    pbs0 = FheRuntime.pbsCount();
                    t0 = System.nanoTime();
                }
                if (!Digests.sha256(row.list()).equals(row.sha256())) {
                    throw new UserException("chunk " + row.seq() + " is corrupt: its ciphertexts do not have the SHA-256 its row names");
                }
                ex.feed(sk, row.list(), row.slots());
                expected = row.seq() + 1;
                if (failHere) {
                    INJECTED.incrementAndGet();
                    throw new IllegalStateException("injected failure (" + FAIL_FIRST_ATTEMPT + "), attempt 0 of partition "
                            + task.partitionId());
                }
            }
            out.add(close(ex, pbs0, t0));
            ex = null;
            return out.iterator();
        } finally {
            if (ex != null) {
                ex.close();
            }
        }
    }

    private static PartialResult close(QueryExecutor ex, long pbs0, long t0) {
        try (ex) {
            long[] run = ex.chunks();
            return new PartialResult(run[0], run[1], ex.records(), ex.state(), FheRuntime.pbsCount() - pbs0,
                    (System.nanoTime() - t0) / 1e9);
        }
    }
}
