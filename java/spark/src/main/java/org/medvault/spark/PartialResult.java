package org.medvault.spark;

import java.io.Serializable;

/**
 * What one run of consecutive chunks gives back to the driver: the native executor's partial
 * result (encrypted tree nodes, no secret) for chunks [start, end), and what it cost.
 */
public record PartialResult(long start, long end, long records, byte[] state, long pbs, double seconds)
        implements Serializable {}
