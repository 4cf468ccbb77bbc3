package org.medvault.spark;

import java.io.Serializable;

/**
 * One vault chunk as a row of the job's Dataset: its position in the vault's canonical order, its
 * SHA-256 (checked on the executor before the chunk is used), the slots of its live records and
 * the serialized compact ciphertext list.
 */
public record ChunkRow(long seq, String sha256, int[] slots, byte[] list) implements Serializable {
    /** Slots as the export stores them: comma-separated. */
    static int[] parseSlots(String text, long seq) {
        if (text == null || text.isEmpty()) {
            return new int[0];
        }
        String[] parts = text.split(",", -1);
        int[] out = new int[parts.length];
        for (int i = 0; i < parts.length; i++) {
            try {
                out[i] = Integer.parseInt(parts[i]);
            } catch (NumberFormatException e) {
                throw new org.medvault.common.UserException("chunk " + seq + ": slots: '" + parts[i] + "' is not a number");
            }
            if (out[i] < 0) {
                throw new org.medvault.common.UserException("chunk " + seq + ": slots: " + out[i] + " is negative");
            }
        }
        return out;
    }
}
