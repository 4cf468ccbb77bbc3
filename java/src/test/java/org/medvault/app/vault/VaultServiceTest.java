package org.medvault.app.vault;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.math.BigDecimal;
import java.math.RoundingMode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import org.medvault.app.AtomicFiles;
import org.medvault.app.Progress;
import org.medvault.common.UserException;
import org.medvault.fhe.ClientKey;
import org.medvault.app.keys.TestKeySets;
import org.medvault.fhe.FheConfig;
import org.medvault.schema.VaultSchema;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The vault on the example schema and data, with a real key (no server key needed to add data). */
class VaultServiceTest {
    static final Path EXAMPLES = Path.of(System.getProperty("user.dir"), "examples");
    static final Path SCHEMA = EXAMPLES.resolve("schema.json");

    @TempDir
    static Path tmp;
    static ClientKey key;
    static Path publicKey;
    static Path serverKey;
    static Path otherPublicKey;
    static final VaultService service = new VaultService(Progress.NONE);

    @BeforeAll
    static void keys() throws IOException {
        key = ClientKey.generate(FheConfig.defaults());
        publicKey = TestKeySets.writePublic(key, tmp.resolve("keys"), true);
        serverKey = publicKey.resolveSibling("server.key");
        try (ClientKey other = ClientKey.generate(FheConfig.defaults())) {
            otherPublicKey = TestKeySets.writePublic(other, tmp.resolve("other-keys"), false);
        }
    }

    @AfterAll
    static void close() {
        key.close();
    }

    static Path newVault(String name) {
        Path v = tmp.resolve(name + ".db");
        service.init(SCHEMA, publicKey, v);
        return v;
    }

    static VaultService.EncryptResult encrypt(Path vault, Path input) {
        return service.encrypt(vault, input, InputFormat.guess(input), new VaultService.EncryptOptions(false, null, null, null));
    }

    static Path write(String name, String content) throws IOException {
        Path p = tmp.resolve(name);
        Files.writeString(p, content);
        return p;
    }

    static String header() throws IOException {
        return Files.readAllLines(EXAMPLES.resolve("patients.csv")).get(0);
    }

    @Test
    void everyFieldTypeRoundTripsFromCsv() throws IOException {
        Path vault = newVault("csv");
        VaultService.EncryptResult r = encrypt(vault, EXAMPLES.resolve("patients.csv"));
        assertEquals(300, r.stored());
        assertTrue(r.bytesPerRecord() > 0);
        List<String> lines = Files.readAllLines(EXAMPLES.resolve("patients.csv"));
        String[] names = lines.get(0).split(",");
        for (int row : new int[] {1, 2, 150, 300}) {
            String[] cells = lines.get(row).split(",", -1);
            Map<String, String> got = VaultService.decryptRecord(vault, cells[0], key);
            for (int c = 1; c < names.length; c++) {
                String expected = cells[c];
                switch (names[c]) {
                    case "hba1c" -> expected = expected.isEmpty() ? "5.5" : expected; // the schema's default
                    case "ldl" -> expected = new BigDecimal(expected).setScale(1, RoundingMode.HALF_EVEN).toPlainString();
                    default -> { }
                }
                assertEquals(expected, got.get(names[c]), cells[0] + " " + names[c]);
            }
            // x² is stored beside each numeric field, in stored units (scaled, minus the range's minimum).
            long age = Long.parseLong(cells[1]);
            assertEquals(Long.toString(age * age), got.get("age^2"));
            long bmi = new BigDecimal(cells[3]).movePointRight(1).longValueExact() - 100; // bmi min is 10.0
            assertEquals(Long.toString(bmi * bmi), got.get("bmi^2"));
        }
    }

    @Test
    void jsonLinesAndFhirMapToTheSchema() throws IOException {
        Path vault = newVault("formats");
        assertEquals(300, encrypt(vault, EXAMPLES.resolve("patients.jsonl")).stored());
        assertEquals("true", VaultService.decryptRecord(vault, "p00002", key).get("diabetic"));
        VaultService.EncryptResult fhir = encrypt(vault, EXAMPLES.resolve("patients-fhir.json"));
        assertEquals(40, fhir.stored());
        JsonNode bundle = new ObjectMapper().readTree(EXAMPLES.resolve("patients-fhir.json").toFile());
        // The first patient of the bundle, read back through the mapping.
        JsonNode patient = bundle.get("entry").get(0).get("resource");
        String id = patient.get("id").asText();
        Map<String, String> got = VaultService.decryptRecord(vault, id, key);
        assertEquals(patient.get("gender").asText().equals("male") ? "1" : patient.get("gender").asText().equals("female") ? "2" : "9",
                got.get("sex"));
        JsonNode bp = bundle.get("entry").get(2).get("resource").get("component");
        assertEquals(bp.get(0).get("valueQuantity").get("value").asText(), got.get("bp_sys"));
        assertEquals(bp.get(1).get("valueQuantity").get("value").asText(), got.get("bp_dia"));
        assertTrue(Integer.parseInt(got.get("age")) > 0);
    }

    static final Path HOSPITAL = EXAMPLES.resolve("fhir-hospital");

    /** examples/fhir-hospital/expected.csv: values the generator computed from its own model, by record id. */
    static Map<String, Map<String, String>> expectedHospitalValues() throws IOException {
        List<String> lines = Files.readAllLines(HOSPITAL.resolve("expected.csv"));
        String[] header = lines.get(0).split(",", -1);
        Map<String, Map<String, String>> out = new java.util.TreeMap<>();
        for (String line : lines.subList(1, lines.size())) {
            String[] cells = line.split(",", -1);
            Map<String, String> row = new java.util.LinkedHashMap<>();
            for (int i = 0; i < header.length; i++) {
                row.put(header[i], cells[i]);
            }
            out.put(cells[0], row);
        }
        return out;
    }

    @Test
    void aHospitalExportImportsAsOneBatchWithTheIndependentlyComputedValues() throws IOException {
        Map<String, Map<String, String>> expected = expectedHospitalValues();
        Path vault = tmp.resolve("hospital.db");
        service.init(HOSPITAL.resolve("schema.json"), publicKey, vault);

        // Dry run over the transaction Bundles (40 files, no resource ids) and over the Bulk NDJSON:
        // the values each record would get are exactly the generator's, and so are the problems.
        for (String shape : new String[] {"bundles", "bulk"}) {
            Path rejects = tmp.resolve(shape + ".rejects.csv");
            VaultService.DryRunResult dry = service.dryRun(vault, List.of(HOSPITAL.resolve(shape)), null, null, rejects, null);
            assertEquals(40, dry.rowsRead(), shape);
            assertEquals(expected.size(), dry.valid(), shape);
            assertEquals(2, dry.rejected(), shape);
            Map<String, Map<String, String>> got = new java.util.TreeMap<>();
            dry.records().forEach(r -> got.put(r.get("patient_id"), r));
            assertEquals(expected, got, shape);
            List<String> lines = Files.readAllLines(rejects);
            assertEquals("file,row,where,record_id,field,reason", lines.get(0));
            String all = String.join("\n", lines).replace("\"", "");
            for (String line : Files.readAllLines(HOSPITAL.resolve("expected-rejects.csv")).subList(1, 4)) {
                String[] c = line.split(",");
                assertTrue(all.contains("," + c[0] + "," + c[1] + "," + c[2]), shape + ": no '" + line + "' in\n" + all);
            }
            for (String line : lines.subList(1, lines.size())) { // every column filled
                assertTrue(java.util.Arrays.stream(line.split(",", 6)).noneMatch(String::isBlank), line);
            }
            assertEquals(0, service.info(vault).records(), "a dry run stores nothing");
        }

        // Without --skip-invalid: nothing stored, every problem listed with file, entry, patient and field.
        UserException e = assertThrows(UserException.class, () -> service.encrypt(vault, List.of(HOSPITAL.resolve("bundles")),
                null, new VaultService.EncryptOptions(false, null, null, null)));
        assertTrue(e.getMessage().contains("3 problems in 2 of 40 records") && e.getMessage().contains("patient-11.json: entry 1 (Patient urn:uuid:")
                && e.getMessage().contains("field 'diagnosis': unknown code system"), e.getMessage());

        // With it: the 38 good patients of 40 files go into one batch, packed like one CSV (not one list per file).
        VaultService.EncryptResult r = service.encrypt(vault, List.of(HOSPITAL.resolve("bundles")), null,
                new VaultService.EncryptOptions(true, tmp.resolve("hospital.rejects.csv"), null, null));
        assertEquals(38, r.stored());
        assertEquals(40, r.files().size());
        assertEquals(Map.of("hba1c", 3L), r.defaults());
        VaultSchema schema = VaultSchema.parse(Files.readAllBytes(HOSPITAL.resolve("schema.json")), "schema.json");
        int perChunk = VaultService.recordsPerChunk(schema);
        assertEquals((38 + perChunk - 1) / perChunk, r.chunks());
        assertTrue(r.bytesPerRecord() < 4000, "packed: " + r.bytesPerRecord() + " B per record");
        for (Map.Entry<String, Map<String, String>> want : expected.entrySet()) {
            Map<String, String> got = VaultService.decryptRecord(vault, want.getKey(), key);
            for (String f : List.of("age", "sex", "bmi", "bp_sys", "bp_dia", "glucose", "hba1c", "ldl", "diagnosis", "diabetic", "smoker")) {
                assertEquals(want.getValue().get(f), got.get(f), want.getKey() + " " + f);
            }
        }

        // --skip-invalid that stores nothing fails (exit 1), with every problem in the rejects file.
        Path allBad = Files.createDirectories(tmp.resolve("all-bad"));
        Files.copy(HOSPITAL.resolve("bundles").resolve("patient-11.json"), allBad.resolve("patient-11.json"));
        UserException none = assertThrows(UserException.class, () -> service.encrypt(vault, List.of(allBad), null,
                new VaultService.EncryptOptions(true, tmp.resolve("bad.rejects.csv"), null, null)));
        assertTrue(none.getMessage().contains("none of the 1 records") && none.getMessage().contains("bad.rejects.csv"), none.getMessage());
        assertEquals(38, service.info(vault).records());
    }

    /** Runs a failing batch and checks the error names what it must and nothing was stored. */
    static UserException refused(Path vault, Path input, String... mustContain) {
        VaultService.InfoResult before = service.info(vault);
        UserException e = assertThrows(UserException.class, () -> encrypt(vault, input));
        for (String s : mustContain) {
            assertTrue(e.getMessage().contains(s), "missing '" + s + "' in: " + e.getMessage());
        }
        VaultService.InfoResult after = service.info(vault);
        assertEquals(before.records(), after.records(), "nothing stored");
        assertEquals(before.digest(), after.digest(), "vault unchanged");
        return e;
    }

    @Test
    void badValuesAreNamedByFileRowAndField() throws IOException {
        Path vault = newVault("bad");
        encrypt(vault, write("ok.csv", header() + "\nq1,40,2,22.0,120,80,5.0,5.0,3.0,none,false,false\n"));
        String h = header();
        refused(vault, write("range.csv", h + "\nq2,40,2,22.0,120,80,5.0,5.0,3.0,none,false,false\nq3,140,2,22.0,120,80,5.0,5.0,3.0,none,false,false\n"),
                "range.csv: row 3, field 'age'", "out of range [0, 120]", "nothing was stored");
        refused(vault, write("code.csv", h + "\nq4,40,2,22.0,120,80,5.0,5.0,3.0,Z99,false,false\n"),
                "code.csv: row 2, field 'diagnosis'", "unknown code 'Z99'");
        refused(vault, write("decimals.csv", h + "\nq5,40,2,22.05,120,80,5.0,5.0,3.0,none,false,false\n"),
                "field 'bmi'", "more than 1 decimal");
        refused(vault, write("empty.csv", h + "\nq6,40,,22.0,120,80,5.0,5.0,3.0,none,false,false\n"),
                "row 2, field 'sex'", "required");
        refused(vault, write("bool.csv", h + "\nq7,40,2,22.0,120,80,5.0,5.0,3.0,none,maybe,false\n"),
                "field 'diabetic'", "not a boolean");
        refused(vault, write("columns.csv", h + "\nq8,40,2,22.0\n"), "columns.csv: row 2", "columns");
        refused(vault, write("quote.csv", h + "\nq9,\"40,2,22.0,120,80,5.0,5.0,3.0,none,false,false\n"), "quote.csv", "malformed CSV");
        refused(vault, write("header.csv", "patient_id,age\nq10,40\n"), "header.csv: line 1", "sex");
        refused(vault, write("dup.csv", h + "\nq11,40,2,22.0,120,80,5.0,5.0,3.0,none,false,false\nq11,41,2,22.0,120,80,5.0,5.0,3.0,none,false,false\n"),
                "row 3", "duplicate record id 'q11'");
        refused(vault, write("bad.jsonl", "{\"patient_id\":\"j1\",\"age\":40}\n{not json\n"), "bad.jsonl: row 2", "malformed JSON");
        refused(vault, write("bad.json", "{\"resourceType\":\"Patient\"}"), "bad.json: entry 1 (a Patient without id)",
                "no id and no fullUrl", "field 'age': no birthDate", "field 'glucose': no usable result with LOINC 15074-8");
        refused(vault, write("notfhir.json", "{\"resourceType\":\"Bundel\"}"), "notfhir.json", "not a FHIR R4 resource");
        refused(vault, write("nothing.csv", h + "\n"), "no records");
        // No id column where the schema names one: a re-run would store every row again under new ids.
        refused(vault, write("noid.csv", h.replace("patient_id", "patient_nr") + "\nq12,40,2,22.0,120,80,5.0,5.0,3.0,none,false,false\n"),
                "noid.csv: line 1", "no column 'patient_id'");
        assertEquals(1, service.info(vault).records());
    }

    @Test
    void skipInvalidStoresGoodRowsAndListsRejects() throws IOException {
        Path vault = newVault("skip");
        String h = header();
        Path in = write("mixed.csv", h + "\ns1,40,2,22.0,120,80,5.0,5.0,3.0,none,false,false\n"
                + "s2,400,2,22.0,120,80,5.0,5.0,3.0,none,false,false\n"
                + "s3,41,2,22.0,120,80,5.0,5.0,3.0,I10,true,true\n");
        Path rejects = tmp.resolve("rejects.csv");
        VaultService.EncryptResult r = service.encrypt(vault, in, InputFormat.CSV,
                new VaultService.EncryptOptions(true, rejects, null, null));
        assertEquals(2, r.stored());
        assertEquals(1, r.rejected());
        List<String> lines = Files.readAllLines(rejects);
        assertEquals("file,row,where,record_id,field,reason", lines.get(0));
        assertTrue(lines.get(1).contains(",3,row 3,s2,age,") && lines.get(1).contains("out of range"), lines.get(1));
        assertEquals("true", VaultService.decryptRecord(vault, "s3", key).get("smoker"));
    }

    @Test
    void rerunningAnInputIsIdempotent() {
        Path vault = newVault("idem");
        assertEquals(300, encrypt(vault, EXAMPLES.resolve("patients.csv")).stored());
        String digest = service.info(vault).digest();
        VaultService.EncryptResult again = encrypt(vault, EXAMPLES.resolve("patients.csv"));
        assertEquals(0, again.stored());
        assertEquals(300, again.alreadyPresent());
        assertEquals(digest, service.info(vault).digest());
    }

    @Test
    void wrongKeyOrSchemaIsRefusedBeforeAnyWork() throws IOException {
        Path vault = newVault("mismatch");
        UserException k = assertThrows(UserException.class, () -> service.encrypt(vault, EXAMPLES.resolve("patients.csv"),
                InputFormat.CSV, new VaultService.EncryptOptions(false, null, otherPublicKey, null)));
        assertTrue(k.getMessage().contains("other-keys") && k.getMessage().contains("encrypted under key"), k.getMessage());
        Path otherSchema = write("schema2.json", Files.readString(SCHEMA).replace("\"max\": 120", "\"max\": 110"));
        UserException s = assertThrows(UserException.class, () -> service.encrypt(vault, EXAMPLES.resolve("patients.csv"),
                InputFormat.CSV, new VaultService.EncryptOptions(false, null, null, otherSchema)));
        assertTrue(s.getMessage().contains("schema2.json") && s.getMessage().contains("not the schema"), s.getMessage());
        assertEquals(0, service.info(vault).records());
        // A patient's record under another key, or another schema, is refused at import.
        Path otherVault = tmp.resolve("other-key.db");
        service.init(SCHEMA, otherPublicKey, otherVault);
        Path foreign = tmp.resolve("foreign.mvrec");
        service.encryptRecord(kitOf(otherVault), EXAMPLES.resolve("my-record.json"), null, foreign);
        UserException imp = assertThrows(UserException.class, () -> service.importRecords(vault, List.of(foreign), serverKey));
        assertTrue(imp.getMessage().contains("foreign.mvrec") && imp.getMessage().contains("key"), imp.getMessage());
        Path otherSchemaVault = tmp.resolve("other-schema.db");
        service.init(otherSchema, publicKey, otherSchemaVault);
        Path otherSchemaRecord = tmp.resolve("other-schema.mvrec");
        service.encryptRecord(kitOf(otherSchemaVault), EXAMPLES.resolve("my-record.json"), null, otherSchemaRecord);
        UserException sch = assertThrows(UserException.class, () -> service.importRecords(vault, List.of(otherSchemaRecord), serverKey));
        assertTrue(sch.getMessage().contains("another schema"), sch.getMessage());
        assertEquals(0, service.info(vault).records());
    }

    /** A two-field schema: sanitizing one of its records takes a few seconds, not the example's 24. */
    static final String TINY = "{\"name\":\"tiny\",\"idField\":\"patient_id\",\"fields\":[{\"name\":\"age\",\"type\":\"uint\","
            + "\"min\":0,\"max\":120},{\"name\":\"sex\",\"type\":\"category\",\"codes\":[\"1\",\"2\",\"9\"]}]}";

    static Path tinyVault(String name, Path publicKeyFile) throws IOException {
        Path v = tmp.resolve(name + ".db");
        service.init(write("tiny.json", TINY), publicKeyFile, v);
        return v;
    }

    static Path tinyRecord(String id, int age) throws IOException {
        return write(id + ".json", "{\"patient_id\":\"" + id + "\",\"age\":" + age + ",\"sex\":\"2\"}\n");
    }

    static Path kitOf(Path vault) {
        Path dir = tmp.resolve(vault.getFileName() + ".kit");
        service.kit(vault, dir);
        return dir;
    }

    @Test
    void patientRecordImportAndWithdrawal() throws IOException {
        Path vault = newVault("patient");
        encrypt(vault, EXAMPLES.resolve("patients.csv"));
        Path rec = tmp.resolve("me.mvrec");
        VaultService.RecordFileResult r = service.encryptRecord(kitOf(vault), EXAMPLES.resolve("my-record.json"), null, rec);
        assertEquals("me-0001", r.recordId());
        assertTrue(r.bytes() < 60_000, "one proven record: " + r.bytes());
        VaultService.ImportResult imp = service.importRecords(vault, List.of(rec), serverKey);
        assertEquals(List.of("me-0001"), imp.imported());
        assertEquals(301, imp.vaultRecords());
        assertTrue(imp.pbsPerRecord() > 0, "sanitizing bootstraps every block");
        Map<String, String> back = VaultService.decryptRecord(vault, "me-0001", key);
        assertEquals("E78", back.get("diagnosis"));
        assertEquals("52", back.get("age"));
        assertEquals("2704", back.get("age^2"));
        assertEquals("28.9", back.get("bmi"));
        // The same file again: its id is taken. Refused, naming both sources; nothing changes.
        String digest = service.info(vault).digest();
        UserException again = assertThrows(UserException.class, () -> service.importRecords(vault, List.of(rec), serverKey));
        assertTrue(again.getMessage().contains("me.mvrec") && again.getMessage().contains("'me-0001' is already in the vault from batch")
                && again.getMessage().contains("record file me.mvrec"), again.getMessage());
        assertEquals(digest, service.info(vault).digest());

        long bytesBefore = Files.size(vault);
        VaultService.WithdrawResult w = service.withdraw(vault, "me-0001");
        assertTrue(w.ciphertextDeleted(), "a lone record's ciphertext is deleted");
        assertEquals(300, w.vaultRecords());
        assertTrue(Files.size(vault) < bytesBefore, "the file shrinks");
        assertThrows(UserException.class, () -> VaultService.decryptRecord(vault, "me-0001", key));
        VaultService.WithdrawResult w2 = service.withdraw(vault, "p00010");
        assertEquals(299, w2.vaultRecords());
        UserException none = assertThrows(UserException.class, () -> service.withdraw(vault, "nobody"));
        assertTrue(none.getMessage().contains("nobody"));
    }

    /**
     * A hospital's nightly job re-encrypts the same export: a patient who withdrew stays out (the
     * withdrawal is remembered without values) until re-enrolled, and the skip names the withdrawal.
     */
    @Test
    void aWithdrawnPatientStaysOutOfLaterBatchesUntilReenrolled() throws IOException {
        Path vault = tinyVault("nightly", publicKey);
        Path export = write("nightly.csv", "patient_id,age,sex\np00001,40,1\np00002,34,2\np00003,71,9\np00004,55,1\np00005,62,2\n");
        assertEquals(5, encrypt(vault, export).stored());
        service.withdraw(vault, "p00003");
        VaultService.EncryptResult again = encrypt(vault, export);
        assertEquals(0, again.stored());
        assertEquals(4, again.alreadyPresent());
        assertEquals(1, again.skippedWithdrawn().size());
        VaultService.Withdrawn w = again.skippedWithdrawn().get(0);
        assertEquals("p00003", w.id());
        assertTrue(w.where().contains("nightly.csv") && w.withdrawn().matches("\\d{4}-\\d{2}-\\d{2}T.*"), w.toString());
        assertEquals(4, service.info(vault).records());
        // The same ids under another file name: still skipped, and a dry run says so too.
        Path renamed = write("nightly-copy.csv", Files.readString(export));
        assertThrows(UserException.class, () -> encrypt(vault, renamed)); // another source's ids: a clash, as before
        assertEquals(List.of("p00003"), service.dryRun(vault, List.of(export), null, null, null, null).skippedWithdrawn().stream()
                .map(VaultService.Withdrawn::id).toList());
        // Re-enrolled (recorded), the next run stores the record again; a second re-enrolment is refused.
        assertTrue(service.reenrol(vault, "p00003", null).withdrawn().equals(w.withdrawn()));
        UserException twice = assertThrows(UserException.class, () -> service.reenrol(vault, "p00003", null));
        assertTrue(twice.getMessage().contains("was not withdrawn"), twice.getMessage());
        VaultService.EncryptResult back = encrypt(vault, export);
        assertEquals(1, back.stored());
        assertTrue(back.skippedWithdrawn().isEmpty());
        assertEquals(5, service.info(vault).records());
        assertEquals("71", VaultService.decryptRecord(vault, "p00003", key).get("age"));
    }

    @Test
    void aSubmittedRecordNeverShadowsAHospitalRecord() throws IOException {
        // A submitter takes a hospital patient's id before the hospital's batch runs.
        Path vault = tinyVault("shadow", publicKey);
        Path hospital = write("hospital.csv", "patient_id,age,sex\np00009,40,1\np00010,34,2\np00011,71,9\n");
        Path squat = tmp.resolve("squat.mvrec");
        service.encryptRecord(kitOf(vault), tinyRecord("p00010", 99), null, squat);
        service.importRecords(vault, List.of(squat), serverKey);
        UserException e = assertThrows(UserException.class, () -> encrypt(vault, hospital));
        assertTrue(e.getMessage().contains("hospital.csv row ") && e.getMessage().contains("'p00010'")
                && e.getMessage().contains("record file squat.mvrec") && e.getMessage().contains("nothing was stored"), e.getMessage());
        assertEquals(1, service.info(vault).records());
        // And the other way round: after the batch, a submission under a batch id is refused. The
        // squatter's record is withdrawn; the id stays out until an explicit (recorded) re-enrolment.
        service.withdraw(vault, "p00010");
        VaultService.EncryptResult skipped = encrypt(vault, hospital);
        assertEquals(List.of("p00010"), skipped.skippedWithdrawn().stream().map(VaultService.Withdrawn::id).toList());
        assertEquals(2, skipped.stored());
        service.reenrol(vault, "p00010", null);
        encrypt(vault, hospital);
        UserException back = assertThrows(UserException.class, () -> service.importRecords(vault, List.of(squat), serverKey));
        assertTrue(back.getMessage().contains("squat.mvrec") && back.getMessage().contains("encrypt hospital.csv"), back.getMessage());
        assertEquals("34", VaultService.decryptRecord(vault, "p00010", key).get("age"));
        // Re-running the same batch (a resumed run) still skips its own records.
        assertEquals(3, encrypt(vault, hospital).alreadyPresent());
        // Withdrawn, an id is free again only after re-enrolment: then the submitter's record goes in.
        service.withdraw(vault, "p00010");
        UserException out = assertThrows(UserException.class, () -> service.importRecords(vault, List.of(squat), serverKey));
        assertTrue(out.getMessage().contains("'p00010' was withdrawn") && out.getMessage().contains("reenrol"), out.getMessage());
        service.reenrol(vault, "p00010", null);
        assertEquals(List.of("p00010"), service.importRecords(vault, List.of(squat), serverKey).imported());
        assertEquals("99", VaultService.decryptRecord(vault, "p00010", key).get("age"));
    }

    /** Every way a hostile submitter can dress up a record file; each is refused and nothing is imported. */
    @Test
    void hostileSubmissionsAreRefused() throws IOException {
        Path vault = tinyVault("hostile", publicKey);
        Path kit = kitOf(vault);
        Path honest = tmp.resolve("honest.mvrec");
        service.encryptRecord(kit, tinyRecord("me", 52), "victim", honest);
        RecordFile victim = RecordFile.parse(Files.readAllBytes(honest), "honest.mvrec");

        // 1. An unproven record file (the old format, or anyone's own encoder).
        Path v1 = tmp.resolve("v1.mvrec");
        Files.write(v1, org.medvault.app.HeaderedFile.join("MEDVAULT-RECORD v1\n",
                "{\"recordId\":\"a\",\"keyId\":\"" + victim.keyId() + "\",\"schemaSha256\":\"" + victim.schemaSha256() + "\"}", new byte[10]));
        assertRefused(vault, v1, "unproven record file");
        // 2. The current format around an unproven compact list under the vault's trusted key:
        //    the submitter would control carries and padding bits, and could copy the vault's own ciphertexts.
        Path unproven = tmp.resolve("unproven.mvrec");
        try (org.medvault.fhe.CompactPublicKey pk = org.medvault.fhe.CompactPublicKey.deserialize(Files.readAllBytes(publicKey))) {
            org.medvault.fhe.CompactCiphertextList.Builder b = pk.listBuilder();
            VaultSchema schema = VaultSchema.parse(TINY.getBytes(java.nio.charset.StandardCharsets.UTF_8), "tiny.json");
            schema.recordLayout().forEach(t -> b.push(t, 1));
            try (org.medvault.fhe.CompactCiphertextList list = b.build()) {
                Files.write(unproven, new RecordFile("b", victim.keyId(), victim.schemaSha256(), list.serialize()).toBytes());
            }
        }
        assertRefused(vault, unproven, "no proof of encryption");
        // 3. A proof made under another key set, relabelled with this vault's key id.
        Path otherVault = tinyVault("hostile-other", otherPublicKey);
        Path foreign = tmp.resolve("foreign-proof.mvrec");
        service.encryptRecord(kitOf(otherVault), tinyRecord("other", 30), "c", foreign);
        RecordFile f = RecordFile.parse(Files.readAllBytes(foreign), "foreign");
        Files.write(foreign, new RecordFile("c", victim.keyId(), victim.schemaSha256(), f.list()).toBytes());
        assertRefused(vault, foreign, "key");
        // 4. The victim's proven ciphertexts copied under new ids (k−1 copies would defeat suppression).
        for (String id : List.of("copy-1", "copy-2")) {
            Path copy = tmp.resolve(id + ".mvrec");
            Files.write(copy, new RecordFile(id, victim.keyId(), victim.schemaSha256(), victim.list()).toBytes());
            assertRefused(vault, copy, "proof of encryption does not verify");
        }
        // 5. Bits flipped in the ciphertexts (e.g. carry bits set): the proof no longer holds.
        for (int at : new int[] {victim.list().length / 2, victim.list().length - 300}) {
            byte[] body = victim.list().clone();
            body[at] ^= 0x30;
            Path bad = tmp.resolve("flipped.mvrec");
            Files.write(bad, new RecordFile("victim", victim.keyId(), victim.schemaSha256(), body).toBytes());
            assertRefused(vault, bad, "refused");
        }
        // All or nothing: one bad file among good ones imports none of them.
        Path copy = tmp.resolve("copy-1.mvrec");
        UserException mixed = assertThrows(UserException.class, () -> service.importRecords(vault, List.of(honest, copy), serverKey));
        assertTrue(mixed.getMessage().contains("copy-1.mvrec") && mixed.getMessage().contains("nothing was imported"), mixed.getMessage());
        assertEquals(0, service.info(vault).records());
        assertEquals(List.of("victim"), service.importRecords(vault, List.of(honest), serverKey).imported());
        assertEquals("52", VaultService.decryptRecord(vault, "victim", key).get("age"));
        assertEquals("2704", VaultService.decryptRecord(vault, "victim", key).get("age^2"));
    }

    private static void assertRefused(Path vault, Path file, String reason) {
        String digest = service.info(vault).digest();
        UserException e = assertThrows(UserException.class, () -> service.importRecords(vault, List.of(file), serverKey));
        assertTrue(e.getMessage().contains(file.getFileName().toString()) && e.getMessage().contains(reason), e.getMessage());
        assertEquals(digest, service.info(vault).digest(), "nothing changed");
    }

    /**
     * A long reader (a query holds one read snapshot for minutes) must neither block a batch nor
     * see it half-way; two writers take turns, and one that waits too long is told why.
     */
    @Test
    void readersKeepTheirSnapshotAndWritersTakeTurns() throws Exception {
        Path vault = newVault("concurrent");
        String h = header();
        encrypt(vault, write("c1.csv", h + "\nc1,40,2,22.0,120,80,5.0,5.0,3.0,none,false,false\n"));
        try (VaultStore reader = VaultStore.open(vault)) {
            assertEquals(1, reader.stats().records()); // the reader's snapshot begins here
            String digest = reader.digest();
            // A batch while the reader is open: stored (not "database is locked" after all the work).
            VaultService.EncryptResult r = encrypt(vault, write("c2.csv", h + "\nc2,41,2,22.0,120,80,5.0,5.0,3.0,none,false,false\n"));
            assertEquals(1, r.stored());
            assertEquals(2, r.vaultRecords());
            // The reader still sees the vault as it was when it began: count, chunks and digest agree.
            assertEquals(1, reader.stats().records());
            assertEquals(digest, reader.digest());
            int[] chunks = {0};
            reader.forEachChunk(c -> chunks[0]++);
            assertEquals(1, chunks[0]);
        }
        assertEquals(2, service.info(vault).records());

        // Two writers: the second waits for the first, and gives up with a clear message when told to.
        try (VaultStore.WriteLock held = VaultStore.lockForWriting(vault, java.time.Duration.ZERO, Progress.NONE)) {
            long t0 = System.nanoTime();
            UserException busy = assertThrows(UserException.class, () -> service.encrypt(vault,
                    List.of(write("c3.csv", h + "\nc3,42,2,22.0,120,80,5.0,5.0,3.0,none,false,false\n")), null,
                    new VaultService.EncryptOptions(false, null, null, null, java.time.Duration.ofSeconds(2))));
            assertTrue(busy.getMessage().contains("another process is writing") && busy.getMessage().contains("nothing was stored"),
                    busy.getMessage());
            assertTrue((System.nanoTime() - t0) / 1e9 >= 2, "waited");
        }
        java.util.concurrent.CompletableFuture<VaultService.EncryptResult> later;
        try (VaultStore.WriteLock held = VaultStore.lockForWriting(vault, java.time.Duration.ZERO, Progress.NONE)) {
            later = java.util.concurrent.CompletableFuture.supplyAsync(() -> service.encrypt(vault,
                    List.of(tmp.resolve("c3.csv")), null, new VaultService.EncryptOptions(false, null, null, null,
                            java.time.Duration.ofSeconds(60))));
            Thread.sleep(1500);
            assertTrue(!later.isDone(), "waits while the other writer holds the vault");
        }
        assertEquals(1, later.get().stored());
        assertEquals(3, service.info(vault).records());
    }

    /** A crafted size cannot make MedVault allocate: files larger than any it writes are refused before reading. */
    @Test
    void oversizedFilesAreRefusedBeforeReading() throws IOException {
        Path bigPublic = sparse("big-public.key", 5L << 30);
        UserException e = assertThrows(UserException.class, () -> service.init(SCHEMA, bigPublic, tmp.resolve("big.db")));
        assertTrue(e.getMessage().contains("public key " + bigPublic + " is 5368709120 bytes: larger than any public key")
                && e.getMessage().contains("refused before reading"), e.getMessage());
        Path bigServer = sparse("big-server.key", 3L << 30);
        long t0 = System.nanoTime();
        UserException s = assertThrows(UserException.class, () -> org.medvault.app.keys.ServerKeyFiles.load(bigServer,
                key.keyId(), null, Progress.NONE));
        assertTrue(s.getMessage().contains("larger than any server key MedVault writes") && s.getMessage().contains(bigServer.toString()),
                s.getMessage());
        assertTrue((System.nanoTime() - t0) / 1e9 < 30, "refused without reading 3 GiB");
        Path bigSchema = sparse("big-schema.json", 64L << 20);
        UserException j = assertThrows(UserException.class, () -> service.init(bigSchema, publicKey, tmp.resolve("big2.db")));
        assertTrue(j.getMessage().contains("larger than any schema"), j.getMessage());
        Path bigRecord = sparse("big.mvrec", 1L << 30);
        Path v = newVault("oversized");
        UserException r = assertThrows(UserException.class, () -> service.importRecords(v, List.of(bigRecord), serverKey));
        assertTrue(r.getMessage().contains("larger than any record file"), r.getMessage());
    }

    static Path sparse(String name, long size) throws IOException {
        Path p = tmp.resolve(name);
        try (java.io.RandomAccessFile f = new java.io.RandomAccessFile(p.toFile(), "rw")) {
            f.setLength(size);
        }
        return p;
    }

    /** A file with bytes after its content is corrupt: refused, naming the file, never loaded as if intact. */
    @Test
    void paddedFilesAreRefused() throws IOException {
        byte[] zeros = new byte[1 << 20];
        Path paddedKey = tmp.resolve("padded-keys").resolve("public.key");
        Files.createDirectories(paddedKey.getParent());
        for (String f : new String[] {"submission.key", "submission.crs"}) {
            Files.copy(publicKey.resolveSibling(f), paddedKey.resolveSibling(f));
        }
        Files.write(paddedKey, concat(Files.readAllBytes(publicKey), zeros));
        UserException k = assertThrows(UserException.class, () -> service.init(SCHEMA, paddedKey, tmp.resolve("padded.db")));
        assertTrue(k.getMessage().contains("padded-keys/public.key") && k.getMessage().contains("unexpected byte"), k.getMessage());
        Path paddedSchema = tmp.resolve("padded-schema.json");
        Files.write(paddedSchema, concat(Files.readAllBytes(SCHEMA), zeros));
        UserException s = assertThrows(UserException.class, () -> service.init(paddedSchema, publicKey, tmp.resolve("padded2.db")));
        assertTrue(s.getMessage().contains("padded-schema.json"), s.getMessage());
        Path vault = newVault("padded-input");
        for (String name : new String[] {"patients.csv", "patients.jsonl", "patients-fhir.json"}) {
            Path padded = tmp.resolve("padded-" + name);
            Files.write(padded, concat(Files.readAllBytes(EXAMPLES.resolve(name)), zeros));
            UserException e = assertThrows(UserException.class, () -> encrypt(vault, padded));
            assertTrue(e.getMessage().contains("padded-" + name), e.getMessage());
        }
        assertEquals(0, service.info(vault).records(), "nothing stored from a padded input");
    }

    static byte[] concat(byte[] a, byte[] b) {
        byte[] out = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    @Test
    void schemaErrorsAreClear() throws IOException {
        String[][] cases = {
            {"{\"name\":\"x\",\"fields\":[]}", "non-empty"},
            {"{\"name\":\"x\",\"fields\":[{\"name\":\"a\",\"type\":\"float\"}]}", "unknown type 'float'"},
            {"{\"name\":\"x\",\"fields\":[{\"name\":\"a\",\"type\":\"decimal\",\"min\":0,\"max\":9}]}", "scale"},
            {"{\"name\":\"x\",\"fields\":[{\"name\":\"a\",\"type\":\"uint\",\"min\":5,\"max\":1}]}", "min is greater"},
            {"{\"name\":\"x\",\"fields\":[{\"name\":\"a\",\"type\":\"uint\",\"min\":0,\"max\":1,\"colour\":1}]}", "unknown property"},
            {"{\"name\":\"x\",\"fields\":[{\"name\":\"a\",\"type\":\"category\",\"codes\":[\"A\",\"A\"]}]}", "repeated"},
            {"not json", "not valid JSON"},
        };
        for (String[] c : cases) {
            Path s = write("s.json", c[0]);
            UserException e = assertThrows(UserException.class, () -> VaultSchema.parse(AtomicFiles.read(s, "schema"), s.toString()));
            assertTrue(e.getMessage().contains(c[1]) && e.getMessage().contains("s.json"), c[1] + " / " + e.getMessage());
        }
        VaultSchema schema = VaultSchema.parse(AtomicFiles.read(SCHEMA, "schema"), "schema.json");
        assertEquals(11, schema.minCohort());
        assertNull(schema.fields().get(1).squareType(), "categories store no square");
        assertTrue(VaultService.recordsPerChunk(schema) >= 2048 / schema.blocksPerRecord());
    }
}
