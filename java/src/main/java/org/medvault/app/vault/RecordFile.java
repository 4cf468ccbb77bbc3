package org.medvault.app.vault;

import java.io.IOException;
import java.util.Arrays;

import org.medvault.app.HeaderedFile;
import org.medvault.common.UserException;

import com.fasterxml.jackson.databind.ObjectMapper;

/**
 * A patient's encrypted record, made with the public key only:
 * {@code MEDVAULT-RECORD v1\n{"recordId":…,"keyId":…,"schemaSha256":…}\n<compact ciphertext list>}.
 */
public record RecordFile(String recordId, String keyId, String schemaSha256, byte[] list) {
    static final String MAGIC = "MEDVAULT-RECORD v1\n";
    private static final ObjectMapper JSON = new ObjectMapper();

    private record Header(String recordId, String keyId, String schemaSha256) {}

    public byte[] toBytes() {
        try {
            return HeaderedFile.join(MAGIC, JSON.writeValueAsString(new Header(recordId, keyId, schemaSha256)), list);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    public static RecordFile parse(byte[] bytes, String name) {
        HeaderedFile f = HeaderedFile.split(bytes, MAGIC, 4096, name, "MedVault record file");
        Header h = f.header(JSON, Header.class, name);
        if (h.recordId() == null || h.keyId() == null || h.schemaSha256() == null) {
            throw new UserException(name + " is corrupt: incomplete header");
        }
        return new RecordFile(h.recordId(), h.keyId(), h.schemaSha256(), Arrays.copyOfRange(bytes, f.bodyOffset(), bytes.length));
    }
}
