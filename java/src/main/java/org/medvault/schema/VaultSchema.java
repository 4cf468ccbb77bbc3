package org.medvault.schema;

import java.io.IOException;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Set;

import org.medvault.common.Digests;
import org.medvault.common.UserException;
import org.medvault.fhe.FheType;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

/**
 * A vault schema (JSON): the record's fields, the id field, the release policy, and an optional FHIR
 * mapping per field. Its canonical form and digest bind every ciphertext to the schema it was
 * encoded with.
 */
public final class VaultSchema {
    private static final ObjectMapper JSON = new ObjectMapper()
            .enable(com.fasterxml.jackson.databind.DeserializationFeature.FAIL_ON_TRAILING_TOKENS);
    public static final int DEFAULT_MIN_COHORT = 11;

    private final String name;
    private final String idField;
    private final int minCohort;
    private final List<FieldSpec> fields;
    private final JsonNode source;
    private final String canonical;

    private VaultSchema(String name, String idField, int minCohort, List<FieldSpec> fields, JsonNode source) {
        this.name = name;
        this.idField = idField;
        this.minCohort = minCohort;
        this.fields = List.copyOf(fields);
        this.source = source;
        try {
            this.canonical = JSON.copy().configure(com.fasterxml.jackson.databind.SerializationFeature.ORDER_MAP_ENTRIES_BY_KEYS, true)
                    .writeValueAsString(JSON.treeToValue(source, Object.class));
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    public String name() {
        return name;
    }

    /** The input column (or JSON key) holding a record's id; null when ids are generated. */
    public String idField() {
        return idField;
    }

    /** Small-cell suppression threshold k of the release policy. */
    public int minCohort() {
        return minCohort;
    }

    public List<FieldSpec> fields() {
        return fields;
    }

    /** The schema-wide FHIR settings ({@code "fhir": {"asOf": …, "idSystem": …}}), or null. */
    public JsonNode fhir() {
        JsonNode n = source.get("fhir");
        return n == null || !n.isObject() ? null : n;
    }

    public FieldSpec field(String name) {
        for (FieldSpec f : fields) {
            if (f.name().equals(name)) {
                return f;
            }
        }
        return null;
    }

    /** The schema as stored in the vault (canonical JSON: sorted keys, no whitespace). */
    public String canonicalJson() {
        return canonical;
    }

    public String digest() {
        return Digests.sha256(canonical.getBytes(StandardCharsets.UTF_8));
    }

    /** Encrypted values per record: each field, and x² after each numeric field. */
    public List<FheType<?>> recordLayout() {
        List<FheType<?>> out = new ArrayList<>();
        for (FieldSpec f : fields) {
            out.add(f.storedType());
            if (f.hasSquare()) {
                out.add(f.squareType());
            }
        }
        return out;
    }

    /**
     * Per slot of {@link #recordLayout()}: the largest value the schema allows there (the clamping
     * bound of an untrusted record): a field's largest stored value, or its square.
     */
    public long[] slotMaxima() {
        long[] out = new long[recordLayout().size()];
        int i = 0;
        for (FieldSpec f : fields) {
            out[i++] = f.kind() == FieldSpec.Kind.BOOL ? 1 : f.maxStored();
            if (f.hasSquare()) {
                out[i++] = f.maxStored() * f.maxStored();
            }
        }
        return out;
    }

    /** Per slot of {@link #recordLayout()}: the slot whose square it holds, or −1. */
    public int[] squareSlots() {
        int[] out = new int[recordLayout().size()];
        int i = 0;
        for (FieldSpec f : fields) {
            out[i] = -1;
            i++;
            if (f.hasSquare()) {
                out[i] = i - 1;
                i++;
            }
        }
        return out;
    }

    public int blocksPerRecord() {
        return fields.stream().mapToInt(FieldSpec::blocks).sum();
    }

    public static VaultSchema parse(byte[] json, String file) {
        JsonNode root;
        try {
            root = JSON.readTree(json);
        } catch (IOException e) {
            throw new UserException(file + ": not valid JSON (" + firstLine(e.getMessage()) + ")");
        }
        if (root == null || !root.isObject()) {
            throw new UserException(file + ": a schema is a JSON object with \"fields\"");
        }
        String name = text(root, "name", file, "schema");
        String idField = root.hasNonNull("idField") ? root.get("idField").asText() : null;
        int k = DEFAULT_MIN_COHORT;
        JsonNode policy = root.get("policy");
        if (policy != null && policy.has("minCohort")) {
            k = policy.get("minCohort").asInt(-1);
            if (k < 1 || k > 1_000_000) {
                throw new UserException(file + ": policy.minCohort must be between 1 and 1000000");
            }
        }
        JsonNode fieldsNode = root.get("fields");
        if (fieldsNode == null || !fieldsNode.isArray() || fieldsNode.isEmpty()) {
            throw new UserException(file + ": \"fields\" must be a non-empty array");
        }
        List<FieldSpec> fields = new ArrayList<>();
        Set<String> names = new HashSet<>();
        for (JsonNode f : fieldsNode) {
            FieldSpec spec = parseField(f, file);
            if (!names.add(spec.name())) {
                throw new UserException(file + ": field '" + spec.name() + "' is declared twice");
            }
            if (spec.name().equals(idField)) {
                throw new UserException(file + ": the id field '" + idField + "' is never encrypted; do not declare it as a field");
            }
            fields.add(spec);
        }
        if (fields.size() > 64) {
            throw new UserException(file + ": at most 64 fields per record");
        }
        return new VaultSchema(name, idField, k, fields, root);
    }

    private static final Set<String> KNOWN_KEYS = Set.of("name", "type", "min", "max", "scale", "codes", "required",
            "default", "round", "square", "fhir", "description", "unit");

    private static FieldSpec parseField(JsonNode f, String file) {
        if (!f.isObject()) {
            throw new UserException(file + ": every field is a JSON object");
        }
        String name = text(f, "name", file, "field");
        if (!name.matches("[A-Za-z_][A-Za-z0-9_]{0,62}")) {
            throw new UserException(file + ": field name '" + name + "' must be a letter or _ then letters, digits or _");
        }
        String where = file + ": field '" + name + "'";
        for (Iterator<String> it = f.fieldNames(); it.hasNext();) {
            String key = it.next();
            if (!KNOWN_KEYS.contains(key)) {
                throw new UserException(where + ": unknown property \"" + key + "\"");
            }
        }
        String type = text(f, "type", file, "field '" + name + "'");
        boolean required = !f.has("required") || f.get("required").asBoolean(true);
        String def = f.hasNonNull("default") ? f.get("default").asText() : null;
        boolean round = f.has("round") && f.get("round").asBoolean(false);
        boolean square = !f.has("square") || f.get("square").asBoolean(true);
        JsonNode fhir = f.get("fhir");
        String unit = f.hasNonNull("unit") ? f.get("unit").asText() : null;
        FieldSpec spec = switch (type) {
            case "bool" -> new FieldSpec(name, FieldSpec.Kind.BOOL, required, def, false, 0, 0, 1, null, false, fhir, unit);
            case "category" -> {
                JsonNode codes = f.get("codes");
                if (codes == null || !codes.isArray() || codes.isEmpty()) {
                    throw new UserException(where + ": a category needs a non-empty \"codes\" array");
                }
                List<String> list = new ArrayList<>();
                for (JsonNode c : codes) {
                    String code = c.asText();
                    if (code.isBlank() || list.contains(code)) {
                        throw new UserException(where + ": code '" + code + "' is blank or repeated");
                    }
                    list.add(code);
                }
                if (list.size() > 65_536) {
                    throw new UserException(where + ": at most 65536 codes");
                }
                yield new FieldSpec(name, FieldSpec.Kind.CATEGORY, required, def, false, 0, 0, list.size() - 1,
                        List.copyOf(list), false, fhir, unit);
            }
            case "uint", "decimal" -> {
                int scale = 0;
                if (type.equals("decimal")) {
                    scale = f.has("scale") ? f.get("scale").asInt(-1) : -1;
                    if (scale < 1 || scale > 6) {
                        throw new UserException(where + ": a decimal needs \"scale\" between 1 and 6");
                    }
                }
                long min = bound(f, "min", scale, where);
                long max = bound(f, "max", scale, where);
                if (min > max) {
                    throw new UserException(where + ": min is greater than max");
                }
                if (square && max - min > 0xFFFF_FFFFL) {
                    throw new UserException(where + ": a range wider than 4294967295 (scaled units) leaves no room for x²; "
                            + "set \"square\": false");
                }
                yield new FieldSpec(name, type.equals("uint") ? FieldSpec.Kind.UINT : FieldSpec.Kind.DECIMAL, required,
                        def, round, scale, min, max, null, square, fhir, unit);
            }
            default -> throw new UserException(where + ": unknown type '" + type + "' (uint, decimal, category, bool)");
        };
        if (def != null) {
            try {
                spec.encode(def);
            } catch (FieldSpec.ValueException e) {
                throw new UserException(where + ": default " + e.getMessage());
            }
        }
        return spec;
    }

    private static long bound(JsonNode f, String key, int scale, String where) {
        JsonNode n = f.get(key);
        if (n == null || n.isNull()) {
            throw new UserException(where + ": \"" + key + "\" is required");
        }
        try {
            BigDecimal v = new BigDecimal(n.asText()).movePointRight(scale);
            if (v.signum() < 0) {
                throw new UserException(where + ": \"" + key + "\" must not be negative (values are unsigned)");
            }
            return v.longValueExact();
        } catch (NumberFormatException | ArithmeticException e) {
            throw new UserException(where + ": \"" + key + "\" must be a number with at most " + scale + " decimals");
        }
    }

    private static String text(JsonNode n, String key, String file, String what) {
        JsonNode v = n.get(key);
        if (v == null || !v.isTextual() || v.asText().isBlank()) {
            throw new UserException(file + ": " + what + " needs a \"" + key + "\" string");
        }
        return v.asText();
    }

    private static String firstLine(String s) {
        if (s == null) {
            return "unreadable";
        }
        int nl = s.indexOf('\n');
        return nl < 0 ? s : s.substring(0, nl);
    }
}
