package org.medvault.app.query;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

import org.medvault.app.HeaderedFile;
import org.medvault.app.UserException;

import com.fasterxml.jackson.databind.ObjectMapper;

/**
 * A query result ({@code .mvr}): the encrypted outputs with the query text, the vault digest, the
 * key id, the time and the cost.
 * {@code MEDVAULT-RESULT v1\n<header JSON>\n} then, per output, a 4-byte big-endian length and the
 * ciphertext's safe serialization.
 */
public record ResultFile(Header header, List<byte[]> outputs) {
    static final String MAGIC = "MEDVAULT-RESULT v1\n";
    private static final ObjectMapper JSON = new ObjectMapper();

    public record Header(String query, String vault, String vaultDigest, String keyId, String created, long records,
                         int minCohort, List<String> outputTypes, long pbs, double seconds, String schema) {}

    public byte[] toBytes() {
        try {
            ByteArrayOutputStream body = new ByteArrayOutputStream();
            for (byte[] o : outputs) {
                body.write(ByteBuffer.allocate(4).putInt(o.length).array());
                body.write(o);
            }
            return HeaderedFile.join(MAGIC, JSON.writeValueAsString(header), body.toByteArray());
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    public static ResultFile parse(byte[] bytes, String name) {
        HeaderedFile f = HeaderedFile.split(bytes, MAGIC, 1 << 20, name, "MedVault result file");
        Header h;
        try {
            h = JSON.readValue(f.header(), Header.class);
        } catch (IOException e) {
            throw new UserException(name + " is corrupt: unreadable header");
        }
        if (h.query() == null || h.keyId() == null || h.outputTypes() == null || h.schema() == null) {
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
        if (b.remaining() != 0 || outs.size() != h.outputTypes().size()) {
            throw new UserException(name + " is corrupt: " + outs.size() + " outputs for " + h.outputTypes().size() + " declared");
        }
        return new ResultFile(h, outs);
    }
}
