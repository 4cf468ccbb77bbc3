package org.medvault.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

/** Vault commands through the real entry point, and a batch killed mid-way by SIGKILL. */
class VaultCommandTest {
    static final Path EXAMPLES = Path.of(System.getProperty("user.dir"), "examples");
    static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    static Path tmp;
    static Path publicKey;

    @BeforeAll
    static void key() {
        publicKey = SharedKeySet.dir().resolve("public.key");
    }

    static Path init(String name) {
        Path v = tmp.resolve(name + ".db");
        Cli.Result r = Cli.run(Map.of(), "vault", "init", "--schema", EXAMPLES.resolve("schema.json").toString(),
                "--public-key", publicKey.toString(), "--vault", v.toString());
        assertEquals(0, r.exit(), r.toString());
        return v;
    }

    static JsonNode info(Path vault) throws IOException {
        Cli.Result r = Cli.run(Map.of(), "vault", "info", "--vault", vault.toString(), "--json");
        assertEquals(0, r.exit(), r.toString());
        return JSON.readTree(r.out());
    }

    @Test
    void initEncryptInfoAsAScriptWould() throws IOException {
        Path v = init("script");
        Cli.Result enc = Cli.run(Map.of(), "encrypt", "--vault", v.toString(), "--in", EXAMPLES.resolve("patients.csv").toString(),
                "--json", "-q");
        assertEquals(0, enc.exit(), enc.toString());
        assertEquals("", enc.err());
        JsonNode r = JSON.readTree(enc.out());
        assertEquals(300, r.get("stored").asLong());
        assertTrue(r.get("recordsPerSecond").asDouble() > 0);
        JsonNode i = info(v);
        assertEquals(300, i.get("records").asLong());
        assertEquals(r.get("vaultDigest").asText(), i.get("digest").asText());
        assertEquals(11, i.get("fields").size());
        // The target: a stored 16-bit field costs at most 150 B in a full batch.
        for (JsonNode f : i.get("fields")) {
            if (f.get("name").asText().equals("bp_sys")) {
                double valueShare = f.get("bytesPerRecord").asDouble() * 8 / f.get("blocks").asInt();
                assertTrue(valueShare <= 150, "16-bit field costs " + valueShare + " B");
            }
        }
    }

    @Test
    void exportWritesParquetAndAManifestThatNamesTheVault() throws IOException {
        Path v = init("export");
        Cli.Result enc = Cli.run(Map.of(), "encrypt", "--vault", v.toString(), "--in", EXAMPLES.resolve("patients.csv").toString(), "-q");
        assertEquals(0, enc.exit(), enc.toString());
        Path dir = tmp.resolve("export-dir");
        Cli.Result r = Cli.run(Map.of(), "vault", "export", "--vault", v.toString(), "--parquet", dir.toString(),
                "--chunks-per-file", "4", "--json", "-q");
        assertEquals(0, r.exit(), r.toString());
        JsonNode out = JSON.readTree(r.out());
        JsonNode i = info(v);
        assertEquals(300, out.get("records").asLong());
        assertEquals(i.get("chunks").asLong(), out.get("chunks").asLong());
        assertEquals(i.get("digest").asText(), out.get("vaultDigest").asText());
        org.medvault.app.vault.VaultExport.Manifest m = org.medvault.app.vault.VaultExport.readManifest(dir);
        assertEquals(i.get("digest").asText(), m.vaultDigest());
        assertEquals((i.get("chunks").asLong() + 3) / 4, m.files().size());
        for (String f : m.files()) {
            byte[] b = Files.readAllBytes(dir.resolve(f));
            String head = new String(b, 0, 4, java.nio.charset.StandardCharsets.US_ASCII);
            String tail = new String(b, b.length - 4, 4, java.nio.charset.StandardCharsets.US_ASCII);
            assertEquals("PAR1PAR1", head + tail, f + " is not a Parquet file");
        }
        try (java.util.stream.Stream<Path> left = Files.list(tmp)) {
            assertTrue(left.noneMatch(p -> p.getFileName().toString().contains(".partial-")), "a staging directory was left");
        }
        assertEquals("rwxr-xr-x", java.nio.file.attribute.PosixFilePermissions.toString(Files.getPosixFilePermissions(dir)),
                "an export is public data that every executor's user reads");
        // Into a directory that holds something: refused, and nothing there is touched.
        Cli.Result again = Cli.run(Map.of(), "vault", "export", "--vault", v.toString(), "--parquet", dir.toString(), "-q");
        assertEquals(2, again.exit(), again.toString());
        assertTrue(again.err().contains("is not empty"), again.err());
        assertEquals(i.get("digest").asText(), org.medvault.app.vault.VaultExport.readManifest(dir).vaultDigest());
    }

    @Test
    void dryRunShowsTheValuesOfAHospitalExportAndStoresNothing() throws IOException {
        Path hospital = EXAMPLES.resolve("fhir-hospital");
        Path v = tmp.resolve("dry.db");
        assertEquals(0, Cli.run(Map.of(), "vault", "init", "--schema", hospital.resolve("schema.json").toString(),
                "--public-key", publicKey.toString(), "--vault", v.toString()).exit());
        // Values CSV on stdout, the summary and the two bad patients on stderr; problems → exit 1.
        Cli.Result r = Cli.run(Map.of(), "encrypt", "--vault", v.toString(), "--in", hospital.resolve("bulk").toString(), "--dry-run");
        assertEquals(1, r.exit(), r.toString());
        List<String> values = r.out().lines().toList();
        assertEquals("patient_id,age,sex,bmi,bp_sys,bp_dia,glucose,hba1c,ldl,diagnosis,diabetic,smoker,defaults", values.get(0));
        List<String> expected = Files.readAllLines(hospital.resolve("expected.csv"));
        assertEquals(expected.stream().skip(1).sorted().toList(), values.stream().skip(1).sorted().toList());
        assertTrue(r.err().contains("Dry run: 38 of 40 records valid (2 with problems); nothing encrypted")
                && r.err().contains("hba1c: the schema's default for 3 record(s)")
                && r.err().contains("Patient.ndjson: line 23 (Patient/9b807b53-e628-5eff-9965-abc4b582ba4c), field 'glucose'"), r.err());
        // --json: the records and problems as data; --values FILE: the CSV in a file.
        Cli.Result j = Cli.run(Map.of(), "encrypt", "--vault", v.toString(), "--in", hospital.resolve("bulk").toString(), "--dry-run",
                "--json", "-q", "--values", tmp.resolve("values.csv").toString());
        assertEquals(1, j.exit(), j.toString());
        JsonNode d = JSON.readTree(j.out());
        assertEquals(38, d.get("records").size());
        assertEquals(3, d.get("problems").size());
        assertEquals(expected.size(), Files.readAllLines(tmp.resolve("values.csv")).size());
        assertEquals(0, info(v).get("records").asLong());
    }

    @Test
    void badRowExitsOneNamingRowAndField() throws IOException {
        Path v = init("badrow");
        Path in = tmp.resolve("bad.csv");
        Files.writeString(in, Files.readAllLines(EXAMPLES.resolve("patients.csv")).get(0)
                + "\nx1,40,2,22.0,120,80,5.0,5.0,3.0,none,false,false\nx2,40,7,22.0,120,80,5.0,5.0,3.0,none,false,false\n");
        Cli.Result r = Cli.run(Map.of(), "encrypt", "--vault", v.toString(), "--in", in.toString());
        assertEquals(1, r.exit(), r.toString());
        assertTrue(r.err().contains("bad.csv: row 3, field 'sex': unknown code '7'"), r.err());
        assertEquals(0, info(v).get("records").asLong());
        Cli.Result fmt = Cli.run(Map.of(), "encrypt", "--vault", v.toString(), "--in", in.toString(), "--format", "xml");
        assertEquals(2, fmt.exit(), fmt.toString());
        Cli.Result noVault = Cli.run(Map.of(), "vault", "info", "--vault", tmp.resolve("none.db").toString());
        assertEquals(1, noVault.exit());
        assertTrue(noVault.err().contains("none.db") && noVault.err().contains("vault init"), noVault.err());
        Cli.Result again = Cli.run(Map.of(), "vault", "init", "--schema", EXAMPLES.resolve("schema.json").toString(),
                "--public-key", publicKey.toString(), "--vault", v.toString());
        assertEquals(1, again.exit());
        assertTrue(again.err().contains("never overwritten"), again.err());
    }

    @Test
    void patientRecordCommands() throws IOException {
        Path v = init("patient");
        Path rec = tmp.resolve("me.mvrec");
        Path kit = tmp.resolve("kit");
        Cli.Result k = Cli.run(Map.of(), "vault", "kit", "--vault", v.toString(), "--out", kit.toString());
        assertEquals(0, k.exit(), k.toString());
        Cli.Result e = Cli.run(Map.of(), "record", "encrypt", "--kit", kit.toString(),
                "--in", EXAMPLES.resolve("my-record.json").toString(), "--out", rec.toString());
        assertEquals(0, e.exit(), e.toString());
        assertTrue(e.out().contains("Encrypted and proved record me-0001"), e.out());
        Cli.Result imp = Cli.run(Map.of(), "vault", "import", "--vault", v.toString(), "--server-key",
                publicKey.resolveSibling("server.key").toString(), rec.toString());
        assertEquals(0, imp.exit(), imp.toString());
        assertTrue(imp.out().contains("Per record: proof checked in"), imp.out());
        assertEquals(1, info(v).get("records").asLong());
        // The same file again: the id is taken; refused naming both sources, nothing changes.
        Cli.Result again = Cli.run(Map.of(), "vault", "import", "--vault", v.toString(), "--server-key",
                publicKey.resolveSibling("server.key").toString(), rec.toString());
        assertEquals(1, again.exit(), again.toString());
        assertTrue(again.err().contains("me.mvrec") && again.err().contains("already in the vault from batch")
                && again.err().contains("record file me.mvrec"), again.err());
        assertEquals(1, info(v).get("records").asLong());
        Cli.Result w = Cli.run(Map.of(), "vault", "withdraw", "--vault", v.toString(), "--record", "me-0001", "--json");
        assertEquals(0, w.exit(), w.toString());
        assertTrue(JSON.readTree(w.out()).get("ciphertextDeleted").asBoolean());
        assertEquals(0, info(v).get("records").asLong());
    }

    @Test
    void queryResultAndDecryptThroughTheCli() throws IOException {
        Path keys = SharedKeySet.dir();
        char[] pass = SharedKeySet.PASS.toCharArray();
        Path v = tmp.resolve("cliquery.db");
        assertEquals(0, Cli.run(Map.of(), "vault", "init", "--schema", EXAMPLES.resolve("schema.json").toString(),
                "--public-key", keys.resolve("public.key").toString(), "--vault", v.toString()).exit());
        Path in = tmp.resolve("three.csv");
        Files.write(in, Files.readAllLines(EXAMPLES.resolve("patients.csv")).subList(0, 4));
        assertEquals(0, Cli.run(Map.of(), "encrypt", "--vault", v.toString(), "--in", in.toString(), "-q").exit());

        Cli.Result bad = Cli.run(Map.of(), "query", "--vault", v.toString(), "--server-key", keys.toString(),
                "SELECT count(*) WHERE agee >= 3", "--out", tmp.resolve("bad.mvr").toString());
        assertEquals(2, bad.exit(), bad.toString());
        assertTrue(bad.err().contains("unknown field 'agee'") && bad.err().contains("^"), bad.err());
        assertTrue(!Files.exists(tmp.resolve("bad.mvr")));

        Cli.Result explain = Cli.run(Map.of(), "query", "--vault", v.toString(), "--explain", "SELECT count(*) WHERE age >= 18");
        assertEquals(0, explain.exit(), explain.toString());
        assertTrue(explain.out().contains("PBS per record"), explain.out());

        Path out = tmp.resolve("r.mvr");
        Cli.Result q = Cli.run(Map.of(), "query", "--vault", v.toString(), "--server-key", keys.toString(),
                "SELECT count(*) WHERE age >= 18", "--out", out.toString(), "--json", "-q");
        assertEquals(0, q.exit(), q.toString());
        assertTrue(JSON.readTree(q.out()).get("pbs").asLong() > 0);
        Cli.Result info = Cli.run(Map.of(), "result", "info", out.toString(), "--json");
        assertEquals(0, info.exit(), info.toString());
        assertEquals(3, JSON.readTree(info.out()).get("records").asLong());
        Cli.Result dec = Cli.run(Map.of("MEDVAULT_PASSPHRASE", new String(pass)), "decrypt", "--key", keys.toString(),
                out.toString(), "--json");
        assertEquals(0, dec.exit(), dec.toString());
        JsonNode stat = JSON.readTree(dec.out()).get("statistics").get(0);
        assertTrue(stat.get("suppressed").asBoolean(), "3 records < k = 11: suppressed, not revealed: " + dec.out());
        Cli.Result wrong = Cli.run(Map.of("MEDVAULT_PASSPHRASE", "nope"), "decrypt", "--key", keys.toString(), out.toString());
        assertEquals(1, wrong.exit());
        assertTrue(wrong.err().contains("wrong passphrase"), wrong.err());
    }

    @Test
    void batchKilledMidwayLeavesTheVaultUnchanged() throws Exception {
        Path v = init("killed");
        assertEquals(0, Cli.run(Map.of(), "encrypt", "--vault", v.toString(), "--in", EXAMPLES.resolve("patients.csv").toString(), "-q").exit());
        JsonNode before = info(v);
        // A batch big enough to take seconds: 80 copies of the example rows with fresh ids.
        List<String> lines = Files.readAllLines(EXAMPLES.resolve("patients.csv"));
        List<String> big = new ArrayList<>();
        big.add(lines.get(0));
        for (int copy = 0; copy < 80; copy++) {
            for (int i = 1; i < lines.size(); i++) {
                big.add("k" + copy + "-" + lines.get(i));
            }
        }
        Path in = tmp.resolve("big.csv");
        Files.write(in, big);
        for (int round = 0; round < 2; round++) {
            Process p = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                    "-cp", System.getProperty("java.class.path"), MedVault.class.getName(),
                    "encrypt", "--vault", v.toString(), "--in", in.toString())
                    .redirectErrorStream(true).start();
            BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
            String line;
            while ((line = out.readLine()) != null && !line.startsWith("encrypting")) {
                // wait until the batch has started (the transaction is open, FHE work under way)
            }
            assertTrue(line != null, "the child started encrypting");
            Thread.sleep(300 + 900L * round);
            assertTrue(p.isAlive(), "still mid-batch when killed");
            p.destroyForcibly().waitFor();
            JsonNode after = info(v);
            assertEquals(before.get("records").asLong(), after.get("records").asLong(), "round " + round);
            assertEquals(before.get("digest").asText(), after.get("digest").asText(), "round " + round);
        }
        // And the vault still takes the batch afterwards.
        Cli.Result ok = Cli.run(Map.of(), "encrypt", "--vault", v.toString(), "--in", in.toString(), "--json", "-q");
        assertEquals(0, ok.exit(), ok.toString());
        assertEquals(300 + 24000, info(v).get("records").asLong());
    }
}
