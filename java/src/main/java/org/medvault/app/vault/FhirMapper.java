package org.medvault.app.vault;

import java.io.IOException;
import java.math.BigDecimal;
import java.nio.file.Path;
import java.time.LocalDate;
import java.time.Period;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

import org.medvault.common.UserException;
import org.medvault.schema.FieldSpec;
import org.medvault.schema.VaultSchema;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

/**
 * Maps a FHIR R4 Bundle (Patient, Observation, Condition resources) to schema rows, one per Patient,
 * using each field's {@code "fhir"} mapping:
 * <ul>
 *   <li>{@code {"resource":"Patient","element":"gender","map":{"male":"1",…}}}</li>
 *   <li>{@code {"resource":"Patient","element":"age","asOf":"2026-01-01"}} — whole years from birthDate</li>
 *   <li>{@code {"resource":"Observation","loinc":"8480-6"}} — valueQuantity (or a component's), latest first</li>
 *   <li>{@code {"resource":"Observation","loinc":"72166-2","map":{"449868002":"true",…}}} — a coded value</li>
 *   <li>{@code {"resource":"Condition","system":"http://hl7.org/fhir/sid/icd-10-cm","otherwise":"none"}} — a category</li>
 *   <li>{@code {"resource":"Condition","system":"…","code":"E11","present":true}} — a flag (code prefix)</li>
 * </ul>
 */
final class FhirMapper {
    static final String LOINC = "http://loinc.org";
    private static final ObjectMapper JSON = new ObjectMapper()
            .enable(com.fasterxml.jackson.databind.DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

    private FhirMapper() {}

    private record Patient(long entry, String id, JsonNode resource, List<JsonNode> observations, List<JsonNode> conditions) {}

    static void read(Path file, VaultSchema schema, Consumer<InputRow> sink) {
        JsonNode bundle;
        try {
            bundle = JSON.readTree(file.toFile());
        } catch (JacksonException e) {
            long line = e.getLocation() == null ? 0 : e.getLocation().getLineNr();
            throw new UserException(file + ": line " + line + ": malformed JSON (" + e.getOriginalMessage() + ")");
        } catch (IOException e) {
            throw new UserException(file + ": cannot read: " + e.getMessage(), e);
        }
        if (bundle == null || !"Bundle".equals(bundle.path("resourceType").asText())) {
            throw new UserException(file + ": not a FHIR Bundle (resourceType must be \"Bundle\")");
        }
        for (FieldSpec f : schema.fields()) {
            if (f.fhir() == null || !f.fhir().isObject()) {
                throw new UserException(file + ": the schema has no \"fhir\" mapping for field '" + f.name() + "'");
            }
        }
        JsonNode entries = bundle.path("entry");
        Map<String, Patient> patients = new LinkedHashMap<>();
        Map<String, String> refToId = new HashMap<>();
        List<Object[]> others = new ArrayList<>();
        for (int i = 0; i < entries.size(); i++) {
            JsonNode e = entries.get(i);
            JsonNode r = e.path("resource");
            String type = r.path("resourceType").asText();
            if (type.equals("Patient")) {
                String id = r.path("id").asText(null);
                if (id == null || id.isBlank()) {
                    sink.accept(InputRow.malformed(i + 1, "Patient without an id"));
                    continue;
                }
                patients.put(id, new Patient(i + 1, id, r, new ArrayList<>(), new ArrayList<>()));
                refToId.put("Patient/" + id, id);
                if (e.hasNonNull("fullUrl")) {
                    refToId.put(e.get("fullUrl").asText(), id);
                }
            } else if (type.equals("Observation") || type.equals("Condition")) {
                others.add(new Object[] {i + 1, r});
            }
        }
        for (Object[] o : others) {
            JsonNode r = (JsonNode) o[1];
            String ref = r.path("subject").path("reference").asText("");
            Patient p = patients.get(refToId.getOrDefault(ref, ""));
            if (p == null) {
                continue; // about a patient not in this bundle
            }
            if (r.path("resourceType").asText().equals("Observation")) {
                p.observations().add(r);
            } else {
                p.conditions().add(r);
            }
        }
        for (Patient p : patients.values()) {
            Map<String, String> cells = new LinkedHashMap<>();
            String error = null;
            for (FieldSpec f : schema.fields()) {
                try {
                    cells.put(f.name(), value(f, p));
                } catch (IllegalArgumentException ex) {
                    error = "field '" + f.name() + "': " + ex.getMessage();
                    break;
                }
            }
            sink.accept(error == null ? new InputRow(p.entry(), p.id(), cells, null)
                    : InputRow.malformed(p.entry(), "Patient/" + p.id() + ": " + error));
        }
    }

    private static String value(FieldSpec f, Patient p) {
        JsonNode m = f.fhir();
        String resource = m.path("resource").asText();
        return switch (resource) {
            case "Patient" -> patient(m, p.resource());
            case "Observation" -> observation(m, p.observations());
            case "Condition" -> condition(m, p.conditions());
            default -> throw new IllegalArgumentException("unsupported FHIR resource '" + resource + "' in the mapping");
        };
    }

    private static String patient(JsonNode m, JsonNode r) {
        String element = m.path("element").asText();
        if (element.equals("age")) {
            String birth = r.path("birthDate").asText(null);
            if (birth == null) {
                return null;
            }
            try {
                LocalDate asOf = m.hasNonNull("asOf") ? LocalDate.parse(m.get("asOf").asText()) : LocalDate.now();
                LocalDate born = birth.length() == 4 ? LocalDate.parse(birth + "-07-01")
                        : birth.length() == 7 ? LocalDate.parse(birth + "-15") : LocalDate.parse(birth);
                int years = Period.between(born, asOf).getYears();
                if (years < 0) {
                    throw new IllegalArgumentException("birthDate " + birth + " is after " + asOf);
                }
                return Integer.toString(years);
            } catch (DateTimeParseException e) {
                throw new IllegalArgumentException("birthDate '" + birth + "' is not a date");
            }
        }
        JsonNode v = r.get(element);
        if (v == null || v.isNull()) {
            return null;
        }
        return mapped(m, v.asText());
    }

    private static String mapped(JsonNode m, String code) {
        JsonNode map = m.get("map");
        if (map == null) {
            return code;
        }
        JsonNode to = map.get(code);
        if (to == null) {
            throw new IllegalArgumentException("value '" + code + "' has no entry in the mapping's \"map\"");
        }
        return to.asText();
    }

    private static boolean hasCode(JsonNode codeableConcept, String system, String code) {
        for (JsonNode c : codeableConcept.path("coding")) {
            if (system.equals(c.path("system").asText()) && c.path("code").asText().equals(code)) {
                return true;
            }
        }
        return false;
    }

    private static String observation(JsonNode m, List<JsonNode> observations) {
        String loinc = m.path("loinc").asText();
        JsonNode best = null;
        String bestTime = "";
        for (JsonNode o : observations) {
            String status = o.path("status").asText("final");
            if (status.equals("entered-in-error") || status.equals("cancelled")) {
                continue;
            }
            JsonNode holder = null;
            if (hasCode(o.path("code"), LOINC, loinc)) {
                holder = o;
            } else {
                for (JsonNode comp : o.path("component")) {
                    if (hasCode(comp.path("code"), LOINC, loinc)) {
                        holder = comp;
                    }
                }
            }
            if (holder == null) {
                continue;
            }
            String time = o.path("effectiveDateTime").asText("");
            if (best == null || time.compareTo(bestTime) > 0) {
                best = holder;
                bestTime = time;
            }
        }
        if (best == null) {
            return null;
        }
        if (best.has("valueQuantity")) {
            JsonNode q = best.get("valueQuantity");
            String unit = m.path("unit").asText(null);
            if (unit != null && q.hasNonNull("code") && !unit.equals(q.get("code").asText())) {
                throw new IllegalArgumentException("LOINC " + loinc + " is in " + q.get("code").asText() + ", the schema expects " + unit);
            }
            return new BigDecimal(q.path("value").asText("")).toPlainString();
        }
        if (best.has("valueCodeableConcept")) {
            JsonNode coding = best.get("valueCodeableConcept").path("coding");
            if (coding.isEmpty()) {
                return null;
            }
            return mapped(m, coding.get(0).path("code").asText());
        }
        if (best.has("valueBoolean")) {
            return best.get("valueBoolean").asText();
        }
        throw new IllegalArgumentException("LOINC " + loinc + " has no valueQuantity, valueCodeableConcept or valueBoolean");
    }

    private static String condition(JsonNode m, List<JsonNode> conditions) {
        String system = m.path("system").asText();
        String code = m.path("code").asText(null);
        for (JsonNode c : conditions) {
            String clinical = c.path("clinicalStatus").path("coding").path(0).path("code").asText("active");
            if (clinical.equals("resolved") || clinical.equals("inactive") || clinical.equals("remission")) {
                continue;
            }
            for (JsonNode coding : c.path("code").path("coding")) {
                if (!system.equals(coding.path("system").asText())) {
                    continue;
                }
                String have = coding.path("code").asText();
                if (code != null) {
                    if (have.equals(code) || have.startsWith(code + ".")) {
                        return "true";
                    }
                } else {
                    return have;
                }
            }
        }
        if (code != null) {
            return "false";
        }
        return m.hasNonNull("otherwise") ? m.get("otherwise").asText() : null;
    }
}
