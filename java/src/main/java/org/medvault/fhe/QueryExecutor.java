package org.medvault.fhe;

import java.util.ArrayList;
import java.util.List;

/**
 * Runs a query plan (JSON from {@code org.medvault.query.QueryPlan#nativePlan}) over encrypted
 * records, one vault chunk (a compact list of several records) per {@link #feed} call, then returns
 * the encrypted outputs from {@link #finish}. The plan runs in Rust, records in parallel.
 */
public final class QueryExecutor extends NativeObject {
    public QueryExecutor(String planJson) {
        super(create(planJson), QueryExecutor::nativeDestroy);
    }

    private static long create(String planJson) {
        NativeLibrary.load();
        return nativeCreate(planJson);
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

    static native long nativeCreate(String plan);

    static native void nativeDestroy(long handle);

    static native void nativeFeed(long handle, long serverKey, byte[] list, int[] slots);

    static native long nativeRecords(long handle);

    static native long[] nativeFinish(long handle, long serverKey);
}
