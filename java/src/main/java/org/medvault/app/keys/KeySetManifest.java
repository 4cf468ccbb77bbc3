package org.medvault.app.keys;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Map;

import org.medvault.app.UserException;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;

/**
 * {@code key.json}: the public description of a key set — key id, parameters, features, creation
 * time, and the size and SHA-256 of each key file, so the files can be checked to belong together.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record KeySetManifest(
        String format,
        String keyId,
        String parameters,
        Features features,
        String created,
        String createdBy,
        Map<String, FileDigest> files,
        Threshold threshold) {

    public static final String FORMAT = "medvault-keyset/1";
    public static final String FILE_NAME = "key.json";
    public static final String CLIENT_KEY = "client.key";
    public static final String SERVER_KEY = "server.key";
    public static final String PUBLIC_KEY = "public.key";

    static final ObjectMapper JSON = new ObjectMapper()
            .enable(SerializationFeature.INDENT_OUTPUT)
            .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);

    public record Features(boolean compression, boolean noiseSquashing) {}

    /**
     * A threshold key set: no client key exists; custodian {@code index} holds {@code share} and
     * signs its partial decryptions with the Ed25519 key {@code signingKey} (X.509, base64).
     */
    public record Threshold(int custodians, int threshold, java.util.List<Custodian> members) {
        public Custodian member(int index) {
            return members.stream().filter(m -> m.index() == index).findFirst()
                    .orElseThrow(() -> new UserException("key.json lists no custodian " + index));
        }
    }

    public record Custodian(int index, String share, String signingKey) {}

    /** The share file of custodian {@code index} (1-based). */
    public static String shareFile(int index) {
        return "custodian-" + index + ".share";
    }

    @com.fasterxml.jackson.annotation.JsonIgnore
    public boolean isThreshold() {
        return threshold != null;
    }

    public record FileDigest(long bytes, String sha256) {
        public static FileDigest of(byte[] data) {
            return new FileDigest(data.length, KeySetManifest.sha256(data));
        }
    }

    public KeySetManifest {
        files = files == null ? Map.of() : new LinkedHashMap<>(files);
    }

    public byte[] toBytes() {
        try {
            return (JSON.writeValueAsString(this) + "\n").getBytes(StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    public static KeySetManifest parse(byte[] bytes, String name) {
        KeySetManifest m;
        try {
            m = JSON.readValue(bytes, KeySetManifest.class);
        } catch (IOException e) {
            throw new UserException(name + " is not a valid key manifest: " + firstLine(e.getMessage()));
        }
        if (!FORMAT.equals(m.format())) {
            throw new UserException(name + ": unsupported format " + m.format() + " (expected " + FORMAT + ")");
        }
        if (m.keyId() == null || !m.keyId().matches("[0-9a-f]{64}")) {
            throw new UserException(name + ": missing or malformed keyId");
        }
        Threshold t = m.threshold();
        if (t != null && (t.members() == null || t.members().size() != t.custodians() || t.threshold() < 2
                || t.threshold() > t.custodians())) {
            throw new UserException(name + ": malformed threshold section");
        }
        return m;
    }

    public static String sha256(byte[] data) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(data));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static String firstLine(String s) {
        if (s == null) {
            return "unreadable";
        }
        int nl = s.indexOf('\n');
        return nl < 0 ? s : s.substring(0, nl);
    }
}
