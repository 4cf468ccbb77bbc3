package org.medvault.app.vault;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.medvault.app.AtomicFiles;
import org.medvault.common.Digests;
import org.medvault.common.UserException;
import org.medvault.fhe.FheType;
import org.medvault.schema.FieldSpec;
import org.medvault.schema.VaultSchema;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;

/**
 * What a submitter needs to write a proven record for one vault, as a directory a portal can
 * serve: {@code layout.json} (key id, schema and its digest, the record layout and how each field
 * is encoded), {@code submission.key} and {@code submission.crs}. Nothing in it is secret.
 */
public record SubmissionKit(String keyId, VaultSchema schema, byte[] submissionKey, byte[] crs) {
    public static final String FORMAT = "medvault-submission-layout/1";
    public static final String LAYOUT = "layout.json";
    public static final String KEY = "submission.key";
    public static final String CRS = "submission.crs";
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT)
            .enable(com.fasterxml.jackson.databind.DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

    /** The layout file: everything a client needs to encode and encrypt a record, in one JSON. */
    public byte[] layoutJson() {
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("format", FORMAT);
        out.put("keyId", keyId);
        out.put("schemaSha256", schema.digest());
        out.put("submissionKeySha256", Digests.sha256(submissionKey));
        out.put("crsSha256", Digests.sha256(crs));
        out.put("idField", schema.idField());
        List<Map<String, Object>> fields = new ArrayList<>();
        List<Map<String, Object>> slots = new ArrayList<>();
        for (FieldSpec f : schema.fields()) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("name", f.name());
            m.put("kind", f.kind().name().toLowerCase(java.util.Locale.ROOT));
            m.put("scale", f.scale());
            m.put("offset", f.offset());
            m.put("maxStored", f.kind() == FieldSpec.Kind.BOOL ? 1 : f.maxStored());
            m.put("round", f.round());
            m.put("codes", f.kind() == FieldSpec.Kind.CATEGORY ? f.codes() : null);
            fields.add(m);
            slots.add(Map.of("field", f.name(), "type", typeName(f.storedType()), "square", false));
            if (f.hasSquare()) {
                slots.add(Map.of("field", f.name(), "type", typeName(f.squareType()), "square", true));
            }
        }
        out.put("fields", fields);
        out.put("slots", slots);
        try {
            out.put("schema", JSON.readTree(schema.canonicalJson()));
            return JSON.writeValueAsBytes(out);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    private static String typeName(FheType<?> t) {
        return t == FheType.BOOL ? "bool" : "u" + t.bits();
    }

    /** Writes the kit into {@code dir} (created if needed; existing kit files are replaced). */
    public void write(Path dir) {
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw new UserException("cannot create " + dir + ": " + e.getMessage());
        }
        AtomicFiles.write(dir.resolve(KEY), submissionKey, false);
        AtomicFiles.write(dir.resolve(CRS), crs, false);
        AtomicFiles.write(dir.resolve(LAYOUT), layoutJson(), false);
    }

    /** Reads a kit directory, checking that its files belong together. */
    public static SubmissionKit read(Path dir) {
        if (!Files.isDirectory(dir)) {
            throw UserException.usage(dir + " is not a submission kit directory (make one with 'medvault vault kit')");
        }
        Path layoutFile = dir.resolve(LAYOUT);
        JsonNode layout;
        try {
            layout = JSON.readTree(AtomicFiles.read(layoutFile, "submission layout"));
        } catch (IOException e) {
            throw new UserException(layoutFile + " is not valid JSON: " + e.getMessage());
        }
        if (layout == null || !FORMAT.equals(layout.path("format").asText())) {
            throw new UserException(layoutFile + " is not a MedVault submission layout (format " + FORMAT + ")");
        }
        VaultSchema schema;
        try {
            schema = VaultSchema.parse(JSON.writeValueAsBytes(layout.path("schema")), layoutFile + " (schema)");
        } catch (IOException e) {
            throw new UserException(layoutFile + ": unreadable schema");
        }
        if (!schema.digest().equals(layout.path("schemaSha256").asText())) {
            throw new UserException(layoutFile + ": its schema does not match its schemaSha256");
        }
        byte[] key = AtomicFiles.read(dir.resolve(KEY), "submission key");
        byte[] crs = AtomicFiles.read(dir.resolve(CRS), "submission CRS");
        if (!Digests.sha256(key).equals(layout.path("submissionKeySha256").asText())
                || !Digests.sha256(crs).equals(layout.path("crsSha256").asText())) {
            throw new UserException(dir + ": " + KEY + " or " + CRS + " is not the one " + LAYOUT + " lists (digests differ)");
        }
        return new SubmissionKit(layout.path("keyId").asText(), schema, key, crs);
    }
}
