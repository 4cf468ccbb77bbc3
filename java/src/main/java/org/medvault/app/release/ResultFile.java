package org.medvault.app.release;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

import org.medvault.app.HeaderedFile;
import org.medvault.app.keys.KeySetManifest;
import org.medvault.common.Digests;
import org.medvault.common.UserException;

import com.fasterxml.jackson.databind.ObjectMapper;

/**
 * A query result ({@code .mvr}): the encrypted outputs with the query text, the vault digest, the
 * key id, the time and the cost.
 * {@code MEDVAULT-RESULT v2\n<header JSON>\n} then, per output, a 4-byte big-endian length and the
 * ciphertext's safe serialization; for a threshold key, then the same for each output's
 * noise-squashed form (what custodians decrypt), and the header names the custodian roster the
 * vault pins. The header's {@code outputsDigest} covers every ciphertext byte: it is checked on
 * every read, and it is what custodians re-derive and sign.
 */
public record ResultFile(Header header, List<byte[]> outputs, List<byte[]> squashed) {
    static final String MAGIC = "MEDVAULT-RESULT v2\n";
    private static final ObjectMapper JSON = new ObjectMapper();

    @com.fasterxml.jackson.annotation.JsonInclude(com.fasterxml.jackson.annotation.JsonInclude.Include.NON_NULL)
    public record Header(String query, String vault, String vaultDigest, String keyId, String created, long records,
                         int minCohort, List<String> outputTypes, long pbs, double seconds, String schema,
                         Boolean squashed, Double squashSeconds, Release release, String outputsDigest) {
        /** Not an "is" accessor: Jackson 2.20 (Spark's) would drop the "squashed" property for it. */
        public boolean hasSquashedOutputs() {
            return Boolean.TRUE.equals(squashed);
        }
    }

    /** Who releases a threshold result: any {@code threshold} of {@code custodians}, of roster {@code roster} (digest). */
    public record Release(int custodians, int threshold, String roster) {}

    public ResultFile {
        squashed = squashed == null ? List.of() : squashed;
    }

    /** SHA-256 (hex) of a result file's bytes. */
    public static String digest(byte[] file) {
        return Digests.sha256(file);
    }

    /**
     * The outputs digest: SHA-256 over the key id, each output's type and bytes, and each squashed
     * output's bytes. Canonical evaluation makes it a function of (vault, query, server key): what a
     * custodian derives, compares and signs.
     */
    public static String outputsDigest(String keyId, List<String> types, List<byte[]> outputs, List<byte[]> squashed) {
        java.security.MessageDigest md = Digests.newSha256();
        md.update(("medvault-outputs/1\n" + keyId + "\n").getBytes(java.nio.charset.StandardCharsets.UTF_8));
        for (int i = 0; i < outputs.size(); i++) {
            md.update((types.get(i) + "\n").getBytes(java.nio.charset.StandardCharsets.UTF_8));
            md.update(ByteBuffer.allocate(8).putLong(outputs.get(i).length).array());
            md.update(outputs.get(i));
        }
        for (byte[] q : squashed) {
            md.update(ByteBuffer.allocate(8).putLong(q.length).array());
            md.update(q);
        }
        return java.util.HexFormat.of().formatHex(md.digest());
    }

    public byte[] toBytes() {
        try {
            ByteArrayOutputStream body = new ByteArrayOutputStream();
            for (byte[] o : concat(outputs, squashed)) {
                body.write(ByteBuffer.allocate(4).putInt(o.length).array());
                body.write(o);
            }
            return HeaderedFile.join(MAGIC, JSON.writeValueAsString(header), body.toByteArray());
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    private static List<byte[]> concat(List<byte[]> a, List<byte[]> b) {
        List<byte[]> all = new ArrayList<>(a);
        all.addAll(b);
        return all;
    }

    public static ResultFile parse(byte[] bytes, String name) {
        HeaderedFile f = HeaderedFile.split(bytes, MAGIC, 1 << 20, name, "MedVault result file");
        Header h = f.header(JSON, Header.class, name);
        if (h.query() == null || h.keyId() == null || h.outputTypes() == null || h.schema() == null || h.outputsDigest() == null) {
            throw new UserException(name + " is corrupt: incomplete header");
        }
        ByteBuffer b = ByteBuffer.wrap(bytes, f.bodyOffset(), bytes.length - f.bodyOffset());
        List<byte[]> outs = new ArrayList<>();
        while (b.remaining() >= 4) {
            int len = b.getInt();
            if (len < 0 || len > b.remaining()) {
                throw new UserException(name + " is truncated (output " + (outs.size() + 1) + ")");
            }
            byte[] o = new byte[len];
            b.get(o);
            outs.add(o);
        }
        int declared = h.outputTypes().size() * (h.hasSquashedOutputs() ? 2 : 1);
        if (b.remaining() != 0 || outs.size() != declared) {
            throw new UserException(name + " is corrupt: " + outs.size() + " ciphertexts for " + declared + " declared");
        }
        int n = h.outputTypes().size();
        ResultFile rf = new ResultFile(h, List.copyOf(outs.subList(0, n)), List.copyOf(outs.subList(n, outs.size())));
        if (!rf.computedOutputsDigest().equals(h.outputsDigest())) {
            throw new UserException(name + " is corrupt: its ciphertexts do not match the digest in its header");
        }
        return rf;
    }

    /** The outputs digest of this file's ciphertexts (see {@link #outputsDigest}). */
    public String computedOutputsDigest() {
        return outputsDigest(header.keyId(), header.outputTypes(), outputs, squashed);
    }
}
