package org.medvault.app.vault;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

import org.medvault.app.HeaderedFile;
import org.medvault.common.UserException;

import com.fasterxml.jackson.databind.ObjectMapper;

/**
 * A patient's encrypted, proven record, made with the submission key only:
 * {@code MEDVAULT-RECORD v2\n{"recordId":…,"keyId":…,"schemaSha256":…}\n<proven compact list>}.
 * The proof is bound to {@link #metadata}: the key id, the schema digest and the record id, so it
 * cannot be replayed under another id, schema or key. (v1 files carried an unproven list.)
 */
public record RecordFile(String recordId, String keyId, String schemaSha256, byte[] list) {
    static final String MAGIC = "MEDVAULT-RECORD v2\n";
    private static final String MAGIC_V1 = "MEDVAULT-RECORD v1\n";
    private static final ObjectMapper JSON = new ObjectMapper();

    private record Header(String recordId, String keyId, String schemaSha256) {}

    /** What a record's proof is bound to (the Node client builds the same bytes). */
    public static byte[] metadata(String keyId, String schemaSha256, String recordId) {
        return ("medvault-record-v2\0" + keyId + "\0" + schemaSha256 + "\0" + recordId).getBytes(StandardCharsets.UTF_8);
    }

    public byte[] metadata() {
        return metadata(keyId, schemaSha256, recordId);
    }

    public byte[] toBytes() {
        try {
            return HeaderedFile.join(MAGIC, JSON.writeValueAsString(new Header(recordId, keyId, schemaSha256)), list);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    public static RecordFile parse(byte[] bytes, String name) {
        byte[] v1 = MAGIC_V1.getBytes(StandardCharsets.US_ASCII);
        if (bytes.length >= v1.length && Arrays.equals(bytes, 0, v1.length, v1, 0, v1.length)) {
            throw new UserException(name + " is an unproven record file (format v1); the vault accepts only proven records:"
                    + " encrypt it again with 'medvault record encrypt --kit DIR'");
        }
        HeaderedFile f = HeaderedFile.split(bytes, MAGIC, 4096, name, "MedVault record file");
        Header h = f.header(JSON, Header.class, name);
        if (h.recordId() == null || h.keyId() == null || h.schemaSha256() == null || h.recordId().isBlank()) {
            throw new UserException(name + " is corrupt: incomplete header");
        }
        return new RecordFile(h.recordId(), h.keyId(), h.schemaSha256(), Arrays.copyOfRange(bytes, f.bodyOffset(), bytes.length));
    }
}
