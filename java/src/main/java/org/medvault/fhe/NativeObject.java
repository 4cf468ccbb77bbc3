package org.medvault.fhe;

import java.lang.ref.Cleaner;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.function.LongConsumer;

/**
 * A native object behind a {@code long} handle. The handle is freed exactly once: by
 * {@link #close()}, or by a {@link Cleaner} if the object becomes unreachable unclosed (a safety net;
 * TFHE keys are hundreds of MB, so close them). A closed object cannot be used: every use takes a
 * read lock and checks, and {@code close()} waits for running operations to finish.
 */
public abstract class NativeObject implements AutoCloseable {
    static {
        NativeLibrary.load();
    }

    private static final Cleaner CLEANER = Cleaner.create();

    /** Holds only the handle and the destructor, never the object, so the Cleaner can run. */
    private static final class Free implements Runnable {
        private final long handle;
        private final LongConsumer destroy;
        private final AtomicBoolean done = new AtomicBoolean();

        Free(long handle, LongConsumer destroy) {
            this.handle = handle;
            this.destroy = destroy;
        }

        @Override
        public void run() {
            if (done.compareAndSet(false, true)) {
                destroy.accept(handle);
            }
        }
    }

    private final long handle;
    private final ReentrantReadWriteLock lock = new ReentrantReadWriteLock();
    private final Cleaner.Cleanable cleanable;
    private volatile boolean closed;

    NativeObject(long handle, LongConsumer destroy) {
        if (handle == 0) {
            throw new MedVaultException(MedVaultException.Code.INTERNAL, "native call returned no object");
        }
        this.handle = handle;
        this.cleanable = CLEANER.register(this, new Free(handle, destroy));
    }

    /** A short name for messages, e.g. "FheUint8" or "server key". */
    abstract String describe();

    /** Takes the read lock and returns the handle; pair with {@link #release()}. */
    final long acquire() {
        lock.readLock().lock();
        if (closed) {
            lock.readLock().unlock();
            throw new MedVaultException(MedVaultException.Code.INVALID_INPUT, describe() + " is closed");
        }
        return handle;
    }

    final void release() {
        lock.readLock().unlock();
    }

    public final boolean isClosed() {
        return closed;
    }

    @Override
    public final void close() {
        lock.writeLock().lock();
        try {
            if (!closed) {
                closed = true;
                cleanable.clean();
            }
        } finally {
            lock.writeLock().unlock();
        }
    }

    /** A native call over the handles of several objects, all held open for its duration. */
    @FunctionalInterface
    interface HandlesCall<R> {
        R apply(long[] handles);
    }

    static <R> R withHandles(HandlesCall<R> call, NativeObject... objects) {
        long[] handles = new long[objects.length];
        int acquired = 0;
        try {
            for (NativeObject o : objects) {
                if (o == null) {
                    throw new MedVaultException(MedVaultException.Code.INVALID_INPUT, "argument is null");
                }
                handles[acquired] = o.acquire();
                acquired++;
            }
            return call.apply(handles);
        } finally {
            for (int i = 0; i < acquired; i++) {
                objects[i].release();
            }
        }
    }

    static String hex(byte[] bytes) {
        StringBuilder sb = new StringBuilder(bytes.length * 2);
        for (byte b : bytes) {
            sb.append(Character.forDigit((b >> 4) & 0xf, 16)).append(Character.forDigit(b & 0xf, 16));
        }
        return sb.toString();
    }
}
