package org.medvault.app.release;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.List;

import org.medvault.app.HeaderedFile;
import org.medvault.common.UserException;

import com.fasterxml.jackson.databind.ObjectMapper;

/**
 * One custodian's signed partial decryption of a result ({@code .mvp}):
 * {@code MEDVAULT-PARTIAL v2\n<header JSON>\n}, a 4-byte big-endian length and the native partial
 * (which repeats index, n, t, signer set and key id), then a 64-byte Ed25519 signature by the
 * custodian over every byte before it. The header names what the custodian derived and decrypted:
 * the outputs digest, the vault digest, the schema digest, the query and the roster it checked.
 * Nothing in it depends on the result file's other bytes or on time, so the same request — or the
 * same outputs wrapped in another file — gives byte-identical output.
 */
public record PartialFile(Header header, byte[] partial, byte[] signed, byte[] signature) {
    static final String MAGIC = "MEDVAULT-PARTIAL v2\n";
    static final int SIGNATURE_BYTES = 64;
    private static final ObjectMapper JSON = new ObjectMapper();

    /**
     * @param blocks squashed LWE blocks per output (each carries 4 bits), in output order
     */
    public record Header(String keyId, String outputsDigest, String vaultDigest, String schema, String query, String roster,
                         int custodian, int custodians, int threshold, List<Integer> signers, List<Integer> blocks) {}

    /** The bytes to sign: magic, header, length-prefixed native partial. */
    static byte[] unsigned(Header header, byte[] partial) {
        try {
            byte[] body = ByteBuffer.allocate(4 + partial.length).putInt(partial.length).put(partial).array();
            return HeaderedFile.join(MAGIC, JSON.writeValueAsString(header), body);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    static byte[] withSignature(byte[] unsigned, byte[] signature) {
        byte[] out = Arrays.copyOf(unsigned, unsigned.length + signature.length);
        System.arraycopy(signature, 0, out, unsigned.length, signature.length);
        return out;
    }

    public static PartialFile parse(byte[] bytes, String name) {
        HeaderedFile f = HeaderedFile.split(bytes, MAGIC, 1 << 16, name, "MedVault partial decryption");
        Header h = f.header(JSON, Header.class, name);
        if (h.keyId() == null || h.outputsDigest() == null || h.vaultDigest() == null || h.schema() == null || h.query() == null
                || h.roster() == null || h.signers() == null || h.blocks() == null) {
            throw new UserException(name + " is corrupt: incomplete header");
        }
        ByteBuffer b = ByteBuffer.wrap(bytes, f.bodyOffset(), bytes.length - f.bodyOffset());
        if (b.remaining() < 4 + SIGNATURE_BYTES) {
            throw new UserException(name + " is truncated");
        }
        int len = b.getInt();
        if (len < 0 || len != b.remaining() - SIGNATURE_BYTES) {
            throw new UserException(name + " is corrupt: partial length " + len + " does not fit the file");
        }
        byte[] partial = new byte[len];
        b.get(partial);
        byte[] sig = new byte[SIGNATURE_BYTES];
        b.get(sig);
        return new PartialFile(h, partial, Arrays.copyOf(bytes, bytes.length - SIGNATURE_BYTES), sig);
    }
}
