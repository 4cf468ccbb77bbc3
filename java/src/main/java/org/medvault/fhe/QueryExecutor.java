package org.medvault.fhe;

import java.util.ArrayList;
import java.util.List;

/**
 * Runs a query plan (the planner's JSON, see QueryPlan.nativePlan in the query layer) over encrypted
 * records, one vault chunk (a compact list of several records) per {@link #feed} call, then returns
 * the encrypted outputs from {@link #finish}. The plan runs in Rust, records in parallel.
 *
 * <p>Evaluation is canonical: fed the same chunks in the same order, it produces byte-identical
 * outputs (and squashed outputs) on any number of threads, so a custodian can re-derive an
 * analyst's result and compare bytes. Calls on one executor from several threads take turns.
 *
 * <p>Chunks are reduced in a fixed tree (16 children per node, aligned on chunk indices), so a run
 * of consecutive chunks can be evaluated apart — {@link #beginAt}, feed, {@link #state} — and the
 * partial results merged in chunk order ({@link #merge}) give the very bytes one pass gives: how a
 * cluster splits the vault never shows in the outputs.
 */
public final class QueryExecutor extends NativeObject {
    /** An executor on {@link FheRuntime#threads()} workers. */
    public QueryExecutor(String planJson) {
        this(planJson, 0);
    }

    /** An executor on {@code threads} workers (0: the runtime's count); outputs do not depend on it. */
    public QueryExecutor(String planJson, int threads) {
        super(create(planJson, threads), QueryExecutor::nativeDestroy);
    }

    private static long create(String planJson, int threads) {
        NativeLibrary.load();
        return nativeCreate(planJson, threads);
    }

    @Override
    String describe() {
        return "query executor";
    }

    /** Adds the records at {@code slots} of one serialized compact list. */
    public void feed(ServerKey sk, byte[] list, int[] slots) {
        withHandles(h -> {
            nativeFeed(h[0], h[1], list, slots);
            return null;
        }, this, sk);
    }

    /** Starts at chunk {@code first} of the vault's canonical order (before any feed): a run evaluated apart. */
    public void beginAt(long first) {
        withHandles(h -> {
            nativeBeginAt(h[0], first);
            return null;
        }, this);
    }

    /** {start, end}: the chunks fed or merged so far, [start, end) of the canonical order. */
    public long[] chunks() {
        return withHandles(h -> nativeChunks(h[0]), this);
    }

    /** The partial result so far (encrypted tree nodes; no secret), for {@link #merge} on another executor. */
    public byte[] state() {
        return withHandles(h -> nativeState(h[0]), this);
    }

    /**
     * Merges the partial result of the run of chunks that starts where this executor's ends (same
     * plan). Refused: another plan, a run out of order or overlapping, a tampered or truncated state.
     */
    public void merge(ServerKey sk, byte[] state) {
        withHandles(h -> {
            nativeMerge(h[0], h[1], state);
            return null;
        }, this, sk);
    }

    public long records() {
        return withHandles(h -> nativeRecords(h[0]), this);
    }

    /** The encrypted outputs in plan order (a histogram yields one per bucket); the caller closes them. */
    public List<Ciphertext> finish(ServerKey sk) {
        long[] handles = withHandles(h -> nativeFinish(h[0], h[1]), this, sk);
        List<Ciphertext> out = new ArrayList<>(handles.length);
        for (long h : handles) {
            out.add(FheType.ofCode(Ciphertext.nativeKind(h)).wrap(h));
        }
        return out;
    }

    /**
     * The noise-squashed, serialized forms of {@code outputs} (this executor's outputs; the server
     * key needs noise squashing): what custodians decrypt, canonical like the outputs.
     */
    public List<byte[]> squash(ServerKey sk, List<Ciphertext> outputs) {
        NativeObject[] objects = new NativeObject[outputs.size() + 2];
        objects[0] = this;
        objects[1] = sk;
        for (int i = 0; i < outputs.size(); i++) {
            objects[i + 2] = outputs.get(i);
        }
        byte[][] out = withHandles(h -> nativeSquash(h[0], h[1], java.util.Arrays.copyOfRange(h, 2, h.length)), objects);
        return List.of(out);
    }

    static native long nativeCreate(String plan, int threads);

    static native byte[][] nativeSquash(long handle, long serverKey, long[] outputs);

    static native void nativeDestroy(long handle);

    static native void nativeFeed(long handle, long serverKey, byte[] list, int[] slots);

    static native long nativeRecords(long handle);

    static native long[] nativeFinish(long handle, long serverKey);

    static native void nativeBeginAt(long handle, long first);

    static native long[] nativeChunks(long handle);

    static native byte[] nativeState(long handle);

    static native void nativeMerge(long handle, long serverKey, byte[] state);
}
