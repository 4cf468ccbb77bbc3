package org.medvault.app.fhir;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.medvault.common.UserException;
import org.medvault.schema.VaultSchema;

/**
 * The FHIR mapping rules, one crafted input per rule: each expected value is written here by hand
 * from the resources the test builds, not computed by the code under test.
 */
class FhirMapperTest {
    @TempDir
    static Path tmp;

    static final String SCHEMA = """
            {"name": "t", "idField": "patient_id", "fhir": {"asOf": "2026-11-01"},
             "fields": [
              {"name": "age", "type": "uint", "min": 0, "max": 120, "fhir": {"resource": "Patient", "element": "age"}},
              {"name": "glucose", "type": "decimal", "scale": 1, "min": "1.0", "max": "40.0", "unit": "mmol/L", "round": true,
               "fhir": {"resource": "Observation", "loinc": ["15074-8", "2339-0"], "molarMass": 180.156}},
              {"name": "hba1c", "type": "decimal", "scale": 1, "min": "3.0", "max": "20.0", "unit": "%", "round": true,
               "required": false, "default": "5.5", "fhir": {"resource": "Observation", "loinc": "4548-4", "missing": "default"}},
              {"name": "bp_sys", "type": "uint", "min": 60, "max": 260, "unit": "mm[Hg]", "round": true,
               "fhir": {"resource": "Observation", "loinc": "8480-6"}},
              {"name": "diagnosis", "type": "category", "codes": ["none", "I10", "E11", "I50", "N18"],
               "fhir": {"resource": "Condition", "icd10": true, "snomed": {"44054006": "E11", "38341003": "I10"},
                        "rank": ["I50", "E11", "N18", "I10"], "otherwise": "none"}},
              {"name": "diabetic", "type": "bool",
               "fhir": {"resource": "Condition", "icd10": ["E11"], "snomed": ["44054006"]}}
             ]}""";

    static VaultSchema schema(String json) {
        return VaultSchema.parse(json.getBytes(StandardCharsets.UTF_8), "schema.json");
    }

    // ------------------------------------------------------------------ builders (FHIR JSON as a hospital writes it)

    static String patient(String birth) {
        return "{\"resourceType\":\"Patient\",\"gender\":\"female\",\"birthDate\":\"" + birth + "\"}";
    }

    static String quantity(String loinc, String value, String ucum, String when) {
        return "{\"resourceType\":\"Observation\",\"status\":\"final\",\"code\":{\"coding\":[{\"system\":\"http://loinc.org\","
                + "\"code\":\"" + loinc + "\"}]},\"subject\":{\"reference\":\"SUBJECT\"}," + when
                + ",\"valueQuantity\":{\"value\":" + value + ",\"system\":\"http://unitsofmeasure.org\",\"code\":\"" + ucum + "\"}}";
    }

    static String at(String dateTime) {
        return "\"effectiveDateTime\":\"" + dateTime + "\"";
    }

    static String condition(String system, String code, String clinical, String verification, String onset) {
        return "{\"resourceType\":\"Condition\""
                + (clinical == null ? "" : ",\"clinicalStatus\":{\"coding\":[{\"system\":"
                + "\"http://terminology.hl7.org/CodeSystem/condition-clinical\",\"code\":\"" + clinical + "\"}]}")
                + (verification == null ? "" : ",\"verificationStatus\":{\"coding\":[{\"system\":"
                + "\"http://terminology.hl7.org/CodeSystem/condition-ver-status\",\"code\":\"" + verification + "\"}]}")
                + ",\"code\":{\"coding\":[{\"system\":\"" + system + "\",\"code\":\"" + code + "\"}]}"
                + ",\"subject\":{\"reference\":\"SUBJECT\"}" + (onset == null ? "" : ",\"onsetDateTime\":\"" + onset + "\"") + "}";
    }

    static final String ICD = "http://hl7.org/fhir/sid/icd-10-cm";

    /** A transaction Bundle as EHR exports write it: no ids, urn:uuid fullUrls, references to them. */
    static Path transaction(String name, String uuid, String patient, String... others) throws IOException {
        StringBuilder sb = new StringBuilder("{\"resourceType\":\"Bundle\",\"type\":\"transaction\",\"entry\":[");
        sb.append(entry("urn:uuid:" + uuid, patient, "Patient"));
        int i = 0;
        for (String o : others) {
            String type = o.contains("\"Condition\"") ? "Condition" : "Observation";
            sb.append(',').append(entry("urn:uuid:" + uuid + "-" + (++i), o.replace("SUBJECT", "urn:uuid:" + uuid), type));
        }
        sb.append("]}");
        Path f = tmp.resolve(name);
        Files.writeString(f, sb);
        return f;
    }

    static String entry(String fullUrl, String resource, String type) {
        return "{\"fullUrl\":\"" + fullUrl + "\",\"resource\":" + resource + ",\"request\":{\"method\":\"POST\",\"url\":\"" + type + "\"}}";
    }

    static List<FhirMapper.MappedPatient> map(String schemaJson, Path... files) {
        return new FhirMapper(schema(schemaJson), "schema.json").map(FhirInputs.read(List.of(files)));
    }

    static FhirMapper.MappedPatient one(Path... files) {
        List<FhirMapper.MappedPatient> all = map(SCHEMA, files);
        assertEquals(1, all.size());
        return all.get(0);
    }

    static String problems(FhirMapper.MappedPatient p) {
        return p.problems().stream().map(x -> x.field() + ": " + x.reason()).collect(Collectors.joining("\n"));
    }

    static String[] basics(String subjectless) {
        return new String[] {quantity("15074-8", "5.2", "mmol/L", at("2026-01-01T08:00:00Z")),
            quantity("8480-6", "120", "mm[Hg]", at("2026-01-01T08:00:00Z")), subjectless};
    }

    // ------------------------------------------------------------------ tests

    @Test
    void aTransactionBundleWithoutIdsIsJoinedByFullUrl() throws IOException {
        FhirMapper.MappedPatient p = one(transaction("tx.json", "6f1c0f5e-8d4b-4c43-9a57-0b7a1b1e2f10", patient("1960-11-01"),
                quantity("15074-8", "6.1", "mmol/L", at("2026-05-01T08:00:00Z")),
                quantity("8480-6", "131", "mm[Hg]", at("2026-05-01T08:00:00Z")),
                condition(ICD, "E11.9", "active", "confirmed", "2020-01-01")));
        assertEquals("", problems(p));
        assertEquals("6f1c0f5e-8d4b-4c43-9a57-0b7a1b1e2f10", p.id());
        assertEquals(Map.of("age", "66", "glucose", "6.1", "bp_sys", "131", "diagnosis", "E11", "diabetic", "true"),
                without(p.cells(), "hba1c"));
        assertEquals(null, p.cells().get("hba1c")); // missing, opted into the default: the codec applies and counts it
    }

    static Map<String, String> without(Map<String, String> m, String key) {
        Map<String, String> out = new java.util.HashMap<>(m);
        out.remove(key);
        return out;
    }

    @Test
    void massConcentrationsAreConvertedThroughTheMolarMass() throws Exception {
        // 99 mg/dL glucose = 0.99 g/L / 180.156 g/mol = 5.4952… mmol/L
        FhirMapper.MappedPatient p = one(transaction("mgdl.json", "a1", patient("1970-01-01"),
                quantity("2339-0", "99", "mg/dL", at("2026-05-01T08:00:00Z")),
                quantity("15074-8", "7.0", "mmol/L", at("2026-04-01T08:00:00Z")),
                quantity("8480-6", "120", "mm[Hg]", at("2026-05-01T08:00:00Z"))));
        assertEquals("", problems(p));
        BigDecimal g = new BigDecimal(p.cells().get("glucose"));
        assertEquals(0, g.setScale(4, java.math.RoundingMode.HALF_EVEN).compareTo(new BigDecimal("5.4952")), g.toPlainString());
        // mm[Hg] → kPa is commensurable; mg/dL → mmol/L without a molar mass is not, and says so naming both.
        assertEquals(0, Units.convert(new BigDecimal("120"), "mm[Hg]", "kPa", null).setScale(3, java.math.RoundingMode.HALF_EVEN)
                .compareTo(new BigDecimal("15.999")));
        Units.UnitException e = assertThrows(Units.UnitException.class,
                () -> Units.convert(BigDecimal.TEN, "mg/dL", "mmol/L", null));
        assertTrue(e.getMessage().contains("mg/dL") && e.getMessage().contains("mmol/L") && e.getMessage().contains("molarMass"),
                e.getMessage());
    }

    @Test
    void aUnitThatCannotBeConvertedIsRefusedNamingBothUnits() throws IOException {
        FhirMapper.MappedPatient p = one(transaction("units.json", "a2", patient("1970-01-01"),
                quantity("15074-8", "5.0", "mmol/L", at("2026-05-01T08:00:00Z")),
                quantity("8480-6", "120", "kg", at("2026-05-01T08:00:00Z")),
                quantity("4548-4", "6.1", "mmHg", at("2026-05-01T08:00:00Z"))));
        String got = problems(p);
        assertTrue(got.contains("bp_sys: ") && got.contains("kg") && got.contains("mm[Hg]"), got);
        assertTrue(got.contains("hba1c: ") && got.contains("'mmHg' is not a UCUM unit"), got);
    }

    @Test
    void theLatestResultIsChosenByInstantUpToAsOf() throws IOException {
        FhirMapper.MappedPatient p = one(transaction("time.json", "a3", patient("1970-01-01"),
                // text order says the second is later; as instants the first is (04:30Z vs 02:00Z)
                quantity("8480-6", "141", "mm[Hg]", at("2026-10-15T23:30:00-05:00")),
                quantity("8480-6", "150", "mm[Hg]", at("2026-10-16T02:00:00+00:00")),
                // after asOf (2026-11-01): ignored
                quantity("8480-6", "170", "mm[Hg]", at("2026-11-02T00:00:00Z")),
                // dated by a Period: its end counts (2026-10-10 is earlier than the 141)
                quantity("15074-8", "6.4", "mmol/L",
                        "\"effectivePeriod\":{\"start\":\"2026-10-01T08:00:00Z\",\"end\":\"2026-10-10T08:00:00Z\"}"),
                quantity("15074-8", "5.9", "mmol/L", at("2026-10-05T08:00:00Z")),
                // preliminary: not a result yet
                quantity("15074-8", "9.9", "mmol/L", at("2026-10-30T08:00:00Z")).replace("\"final\"", "\"preliminary\"")));
        assertEquals("", problems(p));
        assertEquals("141", p.cells().get("bp_sys"));
        assertEquals("6.4", p.cells().get("glucose"));
    }

    @Test
    void resultsWithoutAValueAreMissingNotErrors() throws IOException {
        String qns = quantity("4548-4", "0", "%", at("2026-10-20T08:00:00Z")).replaceFirst(",\"valueQuantity\":\\{[^}]*}",
                ",\"valueString\":\"QNS\"");
        String bound = quantity("4548-4", "4.0", "%", at("2026-10-25T08:00:00Z")).replace("{\"value\":", "{\"comparator\":\"<\",\"value\":");
        FhirMapper.MappedPatient p = one(transaction("qns.json", "a4", patient("1970-01-01"),
                quantity("4548-4", "6.8", "%", at("2026-09-01T08:00:00Z")), qns, bound,
                quantity("15074-8", "5.0", "mmol/L", at("2026-05-01T08:00:00Z")),
                quantity("8480-6", "120", "mm[Hg]", at("2026-05-01T08:00:00Z"))));
        assertEquals("", problems(p));
        assertEquals("6.8", p.cells().get("hba1c"));

        // Only a valueString for a required field: a problem naming the resource and what it holds.
        String onlyQns = quantity("15074-8", "0", "mmol/L", at("2026-10-20T08:00:00Z")).replaceFirst(",\"valueQuantity\":\\{[^}]*}",
                ",\"valueString\":\"QNS\"");
        FhirMapper.MappedPatient q = one(transaction("qns2.json", "a5", patient("1970-01-01"), onlyQns,
                quantity("8480-6", "120", "mm[Hg]", at("2026-05-01T08:00:00Z"))));
        String got = problems(q);
        assertTrue(got.contains("glucose: no usable result with LOINC 15074-8 or 2339-0") && got.contains("valueString 'QNS'")
                && got.contains("Observation urn:uuid:a5-1"), got);
    }

    @Test
    void conditionsCountOnlyWhenActiveConfirmedAndBegun() throws IOException {
        FhirMapper.MappedPatient p = one(transaction("cond.json", "a6", patient("1950-01-01"),
                quantity("15074-8", "5.0", "mmol/L", at("2026-05-01T08:00:00Z")),
                quantity("8480-6", "120", "mm[Hg]", at("2026-05-01T08:00:00Z")),
                condition(ICD, "E11.9", "active", "refuted", "2020-01-01"),
                condition(ICD, "I50.9", "active", "entered-in-error", "2020-01-01"),
                condition(ICD, "I50.9", "resolved", "confirmed", "2020-01-01"),
                condition(ICD, "I50.1", "active", "confirmed", "2026-11-15"), // after asOf
                condition(ICD, "N18.31", "active", "confirmed", "2019-03-01"), // rolls up to N18
                condition("http://snomed.info/sct", "38341003", "active", "confirmed", "2018-01-01"))); // I10
        assertEquals("", problems(p));
        assertEquals("N18", p.cells().get("diagnosis")); // N18 outranks I10; the E11 and I50s do not count
        assertEquals("false", p.cells().get("diabetic"));
        assertEquals(List.of("N18.31", "N18.3", "N18"), FhirMapper.rollUp("N18.31"));
        assertEquals(List.of("E11.9", "E11"), FhirMapper.rollUp("E119"));
    }

    @Test
    void rankDecidesTheCategoryNotFileOrder() throws IOException {
        for (boolean reversed : new boolean[] {false, true}) {
            String e11 = condition("http://snomed.info/sct", "44054006", "active", null, "2015-01-01");
            String i50 = condition(ICD, "I50.9", "active", "confirmed", "2016-01-01");
            FhirMapper.MappedPatient p = one(transaction("rank" + reversed + ".json", "a7", patient("1950-01-01"),
                    quantity("15074-8", "5.0", "mmol/L", at("2026-05-01T08:00:00Z")),
                    quantity("8480-6", "120", "mm[Hg]", at("2026-05-01T08:00:00Z")), reversed ? i50 : e11, reversed ? e11 : i50));
            assertEquals("I50", p.cells().get("diagnosis"));
            assertEquals("true", p.cells().get("diabetic")); // SNOMED 44054006 (verification absent counts)
        }
    }

    @Test
    void aConditionInAnUnknownCodeSystemIsReportedNeverSilentlyFalse() throws IOException {
        FhirMapper.MappedPatient p = one(transaction("local.json", "a8", patient("1950-01-01"),
                quantity("15074-8", "5.0", "mmol/L", at("2026-05-01T08:00:00Z")),
                quantity("8480-6", "120", "mm[Hg]", at("2026-05-01T08:00:00Z")),
                condition("http://hospital.example.org/codes/problem-list", "DM2", "active", "confirmed", "2015-01-01")));
        String got = problems(p);
        assertTrue(got.contains("diagnosis: unknown code system") && got.contains("diabetic: unknown code system")
                && got.contains("http://hospital.example.org/codes/problem-list|DM2"), got);
        // With the mapping's explicit consent, the unknown system is ignored.
        FhirMapper.MappedPatient q = map(SCHEMA.replace("\"icd10\": [\"E11\"],", "\"icd10\": [\"E11\"], \"unknownSystems\": \"ignore\","),
                tmp.resolve("local.json")).get(0);
        assertEquals("false", q.cells().get("diabetic"));
    }

    @Test
    void everyProblemOfAPatientIsReportedAtOnce() throws IOException {
        FhirMapper.MappedPatient p = one(transaction("many.json", "a9", "{\"resourceType\":\"Patient\"}",
                quantity("8480-6", "120", "kg", at("2026-05-01T08:00:00Z"))));
        List<String> fields = new ArrayList<>();
        p.problems().forEach(x -> fields.add(x.field()));
        assertEquals(List.of("age", "glucose", "bp_sys"), fields, problems(p));
    }

    @Test
    void twoDifferentResultsAtTheSameInstantAreRefused() throws IOException {
        FhirMapper.MappedPatient p = one(transaction("tie.json", "b1", patient("1970-01-01"),
                quantity("15074-8", "5.0", "mmol/L", at("2026-05-01T08:00:00Z")),
                quantity("8480-6", "120", "mm[Hg]", at("2026-05-01T08:00:00+00:00")),
                quantity("8480-6", "135", "mm[Hg]", at("2026-05-01T10:00:00+02:00"))));
        assertTrue(problems(p).contains("bp_sys: two results at 2026-05-01T08:00:00Z disagree"), problems(p));
    }

    @Test
    void meanOfTheLastResults() throws IOException {
        String s = SCHEMA.replace("\"loinc\": \"8480-6\"}", "\"loinc\": \"8480-6\", \"choose\": \"mean\", \"last\": 2}");
        Path f = transaction("mean.json", "b2", patient("1970-01-01"),
                quantity("15074-8", "5.0", "mmol/L", at("2026-05-01T08:00:00Z")),
                quantity("8480-6", "150", "mm[Hg]", at("2026-01-01T08:00:00Z")),
                quantity("8480-6", "121", "mm[Hg]", at("2026-02-01T08:00:00Z")),
                quantity("8480-6", "124", "mm[Hg]", at("2026-03-01T08:00:00Z")));
        assertEquals("122.5", map(s, f).get(0).cells().get("bp_sys"));
    }

    @Test
    void bulkNdjsonJoinsAcrossFilesByReference() throws IOException {
        Path dir = Files.createDirectories(tmp.resolve("bulk"));
        Files.writeString(dir.resolve("Patient.ndjson"),
                "{\"resourceType\":\"Patient\",\"id\":\"p1\",\"birthDate\":\"1980-06-01\"}\n"
                + "{\"resourceType\":\"Patient\",\"id\":\"p2\",\"birthDate\":\"1990-06-01\"}\n");
        Files.writeString(dir.resolve("Observation.ndjson"), String.join("\n",
                quantity("15074-8", "5.0", "mmol/L", at("2026-05-01T08:00:00Z")).replace("SUBJECT", "Patient/p1"),
                quantity("8480-6", "118", "mm[Hg]", at("2026-05-01T08:00:00Z")).replace("SUBJECT", "Patient/p1"),
                quantity("15074-8", "6.0", "mmol/L", at("2026-05-01T08:00:00Z")).replace("SUBJECT", "https://ehr.example/fhir/Patient/p2"),
                quantity("8480-6", "128", "mm[Hg]", at("2026-05-01T08:00:00Z")).replace("SUBJECT", "Patient/p2"),
                quantity("8480-6", "99", "mm[Hg]", at("2026-05-01T08:00:00Z")).replace("SUBJECT", "Patient/nobody")) + "\n");
        FhirInputs in = FhirInputs.read(List.of(dir.resolve("Observation.ndjson"), dir.resolve("Patient.ndjson")));
        assertEquals(1, in.unresolved());
        List<FhirMapper.MappedPatient> all = new FhirMapper(schema(SCHEMA), "schema.json").map(in);
        assertEquals(List.of("p1", "p2"), all.stream().map(FhirMapper.MappedPatient::id).toList());
        assertEquals("118", all.get(0).cells().get("bp_sys"));
        assertEquals("6.0", all.get(1).cells().get("glucose"));
        assertEquals("line 2", all.get(1).origin().describe());

        Files.writeString(dir.resolve("Broken.ndjson"), "{\"resourceType\":\"Patient\",\"id\":\"p3\"}\n{\"resourceType\":\"Observation\",\n");
        UserException e = assertThrows(UserException.class, () -> FhirInputs.read(List.of(dir.resolve("Broken.ndjson"))));
        assertTrue(e.getMessage().contains("Broken.ndjson: line 2") && e.getMessage().contains("not a FHIR R4 resource"), e.getMessage());
    }

    @Test
    void badMappingsAreRefusedNamingTheField() {
        UserException e = assertThrows(UserException.class, () -> new FhirMapper(schema(
                SCHEMA.replace("\"rank\": [\"I50\"", "\"rank\": [\"X99\"")), "schema.json"));
        assertTrue(e.getMessage().contains("field 'diagnosis'") && e.getMessage().contains("X99"), e.getMessage());
        e = assertThrows(UserException.class, () -> new FhirMapper(schema(
                SCHEMA.replace("\"unit\": \"mmol/L\"", "\"unit\": \"mmol/litre\"")), "schema.json"));
        assertTrue(e.getMessage().contains("field 'glucose'") && e.getMessage().contains("not a UCUM unit"), e.getMessage());
        e = assertThrows(UserException.class, () -> new FhirMapper(schema(
                SCHEMA.replace("\"missing\": \"default\"", "\"missing\": \"zero\"")), "schema.json"));
        assertTrue(e.getMessage().contains("field 'hba1c'") && e.getMessage().contains("\"missing\""), e.getMessage());
    }
}
