package org.medvault.spark;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;

import org.medvault.common.Digests;
import org.medvault.common.UserException;
import org.medvault.fhe.CompressedServerKey;
import org.medvault.fhe.FheRuntime;
import org.medvault.fhe.ServerKey;

/**
 * The server key of each executor JVM: loaded (checked against its pinned SHA-256 and key id,
 * decompressed) by the first task that needs it and kept for the JVM's life, so a key reaches an
 * executor once, never once per task. In local mode the driver's key is the executors' key.
 */
public final class ExecutorKeys {
    private static final Map<String, ServerKey> KEYS = new ConcurrentHashMap<>();
    private static final AtomicInteger LOADS = new AtomicInteger();

    private ExecutorKeys() {}

    /** The key with SHA-256 {@code sha256} (of its compressed file), loading it from {@code bytes} the first time. */
    public static ServerKey get(String sha256, String keyId, Supplier<byte[]> bytes) {
        ServerKey k = KEYS.get(sha256);
        if (k != null) {
            return k;
        }
        synchronized (ExecutorKeys.class) {
            k = KEYS.get(sha256);
            if (k == null) {
                byte[] b = bytes.get();
                if (!Digests.sha256(b).equals(sha256)) {
                    throw new UserException("the server key that reached this executor is not the vault's (its SHA-256 differs)");
                }
                try (CompressedServerKey c = CompressedServerKey.deserialize(b)) {
                    if (!c.keyId().equals(keyId)) {
                        throw new UserException("the server key that reached this executor is key " + c.keyId() + ", not " + keyId);
                    }
                    k = c.decompress();
                }
                LOADS.incrementAndGet();
                KEYS.put(sha256, k);
            }
            return k;
        }
    }

    /** Makes {@code key} (loaded by the driver) the one executors in this JVM use. */
    public static void share(String sha256, ServerKey key) {
        KEYS.putIfAbsent(sha256, key);
    }

    /** Forgets {@code sha256}'s key if it is {@code key} (the driver closes its key after a local run). */
    public static void forget(String sha256, ServerKey key) {
        KEYS.remove(sha256, key);
    }

    /** How many times this JVM loaded a server key (for tests and reports). */
    public static int loads() {
        return LOADS.get();
    }

    /**
     * Sizes this JVM's TFHE thread pool to its cores, once: the executor's cores
     * ({@code spark.executor.cores}, else the machine's). A pool already running keeps its size.
     */
    public static void sizeRuntime(int cores) {
        try {
            FheRuntime.setThreads(Math.max(1, cores));
        } catch (RuntimeException alreadyRunning) {
            // the first FHE call of this JVM fixed the pool (e.g. MEDVAULT_THREADS, or the driver in local mode)
        }
    }
}
